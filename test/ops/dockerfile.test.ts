import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (file: string): string => readFileSync(root + file, 'utf8');

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}
interface Stage {
  name: string;
  base: string;
  instructions: Instruction[];
}

/** Instructions with continuation lines joined; comments and blank lines dropped. */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = '';
  let startLine = 0;
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    if (pending === '') startLine = index + 1;
    if (line.endsWith('\\')) {
      pending += line.slice(0, -1) + ' ';
      return;
    }
    const whole = (pending + line).trim();
    pending = '';
    const [keyword] = whole.split(/\s+/, 1);
    out.push({ keyword: keyword.toUpperCase(), args: whole.slice(keyword.length).trim(), line: startLine });
  });
  return out;
}

function toStages(instructions: Instruction[]): Stage[] {
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') {
      const [base, as, name] = ins.args.split(/\s+/);
      stages.push({ base, name: as?.toUpperCase() === 'AS' ? name : String(stages.length), instructions: [] });
    } else {
      stages.at(-1)?.instructions.push(ins);
    }
  }
  return stages;
}

/** Exec form (JSON array) or shell form split on whitespace. */
const words = (args: string): string[] => (args.startsWith('[') ? (JSON.parse(args) as string[]) : args.split(/\s+/));

/** `--flag=value` options first, then the words. */
function withFlags(args: string): { flags: Record<string, string>; rest: string } {
  const flags: Record<string, string> = {};
  let rest = args;
  for (let m = /^--([\w-]+)(?:=(\S*))?\s+/.exec(rest); m; m = /^--([\w-]+)(?:=(\S*))?\s+/.exec(rest)) {
    flags[m[1]] = m[2] ?? '';
    rest = rest.slice(m[0].length);
  }
  return { flags, rest };
}

const all = (stage: Stage, keyword: string): Instruction[] => stage.instructions.filter((i) => i.keyword === keyword);
const last = (stage: Stage, keyword: string): Instruction | undefined => all(stage, keyword).at(-1);

/** `ENV A=1 B=2` (no quoted spaces in ours) as an object. */
function envOf(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const ins of all(stage, 'ENV')) {
    for (const pair of ins.args.split(/\s+/)) {
      const eq = pair.indexOf('=');
      if (eq > 0) env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
  }
  return env;
}

/** .dockerignore patterns as regexes over context-relative paths (a match excludes the path and what is under it). */
function dockerignore(): RegExp[] {
  return read('.dockerignore')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((pattern) => {
      expect(pattern.startsWith('!'), 'negated .dockerignore patterns are not handled here').toBe(false);
      const body = pattern
        .replace(/^\/+|\/+$/g, '')
        .split('**/')
        .map((part) => part.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]'))
        .join('(?:.*/)?');
      return new RegExp(`^${body}(?:/.*)?$`);
    });
}
const ignored = (path: string, patterns: RegExp[]): boolean => patterns.some((re) => re.test(path));

/** Made inside the build stage by `npm ci` (prepare = npm run build). */
const BUILD_OUTPUTS = ['dist', 'node_modules'];

const stages = toStages(parseDockerfile(read('Dockerfile')));
const runtime = stages.at(-1)!;
const stage = (name: string): Stage => {
  const found = stages.find((s) => s.name === name);
  expect(found, `stage ${name}`).toBeDefined();
  return found!;
};
const workdir = (s: Stage): string => words(last(s, 'WORKDIR')?.args ?? '/')[0];

describe('Dockerfile', () => {
  it('passes dockerfilelint with no issue', () => {
    const run = spawnSync(root + 'node_modules/.bin/dockerfilelint', ['-o', 'json', 'Dockerfile'], { cwd: root, encoding: 'utf8' });
    const report = JSON.parse(run.stdout) as {
      files: { file: string; issues: unknown[] }[];
      totalIssues: number;
    };
    // dockerfilelint lints its argument as Dockerfile text when no such file exists.
    expect(report.files.map((f) => f.file)).toEqual(['Dockerfile']);
    expect(report.files[0].issues).toEqual([]);
    expect(report.totalIssues).toBe(0);
    expect(run.status).toBe(0);
  });

  it('has the stages build, loadgen and runtime, runtime last so a plain build makes the server', () => {
    expect(stages.map((s) => s.name)).toEqual(['build', 'loadgen', 'runtime']);
    for (const s of stages) expect(s.base, `stage ${s.name}`).toBe('node:24-bookworm-slim');
  });

  it('copies only sources that are in the build context, or made by an earlier stage', () => {
    const patterns = dockerignore();
    const problems: string[] = [];
    for (const [index, s] of stages.entries()) {
      for (const ins of all(s, 'COPY')) {
        const { flags, rest } = withFlags(ins.args);
        const sources = words(rest).slice(0, -1);
        expect(sources.length, `COPY on line ${ins.line}`).toBeGreaterThan(0);
        for (const source of sources) {
          const where = `line ${ins.line}: ${source}`;
          if (flags.from === undefined) {
            const path = source.replace(/^\.\/|\/$/g, '');
            if (!existsSync(root + path)) problems.push(`${where} does not exist`);
            if (ignored(path, patterns)) problems.push(`${where} is excluded by .dockerignore`);
            continue;
          }
          const from = stages.slice(0, index).find((e) => e.name === flags.from);
          if (from === undefined) {
            problems.push(`${where}: no earlier stage ${flags.from}`);
            continue;
          }
          // Relative to the other stage's WORKDIR: its whole tree, or something copied into it or built there.
          const base = workdir(from).replace(/\/$/, '');
          const rel = source.replace(/\/$/, '') === base ? '' : source.startsWith(base + '/') ? source.slice(base.length + 1) : null;
          const made = [
            ...BUILD_OUTPUTS,
            ...all(from, 'COPY').flatMap((c) => words(withFlags(c.args).rest).slice(0, -1).map((p) => p.replace(/^\.\/|\/$/g, ''))),
          ];
          if (rel === null) problems.push(`${where} is outside ${flags.from}'s WORKDIR ${base}`);
          else if (rel !== '' && !made.includes(rel.split('/')[0])) problems.push(`${where} is not made in stage ${flags.from}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('builds dist/ in the build stage, from src/ by tsconfig.build.json, and the runtime copies it', () => {
    const build = stage('build');
    expect(all(build, 'RUN').some((r) => /\bnpm ci\b/.test(r.args) && !/--omit=dev|--ignore-scripts/.test(r.args))).toBe(true);
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    expect(pkg.scripts.prepare).toBe('npm run build');
    expect(pkg.scripts.build).toContain('tsconfig.build.json');
    const tsconfig = JSON.parse(read('tsconfig.build.json')) as { compilerOptions: { rootDir: string; outDir: string } };
    expect(tsconfig.compilerOptions).toMatchObject({ rootDir: 'src', outDir: 'dist' });
    // dist/cli.js, the CMD and bin entry, is compiled from src/cli.ts.
    expect(existsSync(root + 'src/cli.ts')).toBe(true);
    const copied = all(runtime, 'COPY').map((c) => withFlags(c.args));
    expect(copied).toContainEqual({ flags: { from: 'build' }, rest: `${workdir(build)}/dist ./dist` });
  });

  it('installs production dependencies only in the runtime, without lifecycle scripts', () => {
    const install = all(runtime, 'RUN').find((r) => /\bnpm ci\b/.test(r.args));
    expect(install?.args).toMatch(/--omit=dev/);
    expect(install?.args).toMatch(/--ignore-scripts/);
  });

  it('runs node dist/cli.js serve in exec form (node is PID 1), the path package.json bin points to', () => {
    expect(last(runtime, 'CMD')?.args.startsWith('[')).toBe(true);
    expect(words(last(runtime, 'CMD')!.args)).toEqual(['node', 'dist/cli.js', 'serve']);
    expect(all(runtime, 'ENTRYPOINT')).toEqual([]);
    const pkg = JSON.parse(read('package.json')) as { bin: Record<string, string> };
    expect(pkg.bin['pkt-ingest']).toBe('dist/cli.js');
    expect(workdir(runtime)).toBe('/app');
  });

  it('exposes 7400 (ingest) and 7401 (HTTP)', () => {
    const ports = all(runtime, 'EXPOSE').flatMap((e) => words(e.args)).map((p) => p.replace(/\/tcp$/, ''));
    expect(ports).toEqual(expect.arrayContaining(['7400', '7401']));
  });

  it('runs as a non-root user', () => {
    for (const s of [runtime, stage('loadgen')]) {
      const user = last(s, 'USER')?.args;
      expect(user, `stage ${s.name}`).toBeDefined();
      expect(['root', '0'], `stage ${s.name}`).not.toContain(user!.split(':')[0]);
    }
  });

  it('checks health with node and fetch against /healthz (no curl in slim images)', () => {
    const health = last(runtime, 'HEALTHCHECK');
    expect(health).toBeDefined();
    const { rest } = withFlags(health!.args);
    expect(rest.startsWith('CMD [')).toBe(true);
    const cmd = words(rest.slice('CMD'.length).trim());
    expect(cmd.slice(0, 2)).toEqual(['node', '-e']);
    expect(cmd[2]).toMatch(/fetch\('http:\/\/127\.0\.0\.1:.*\/healthz'\)/);
    expect(cmd[2]).toContain('7401');
  });

  it('writes captures to the /data volume through config/docker.json', () => {
    const env = envOf(runtime);
    expect(env).toMatchObject({ NODE_ENV: 'production', PKT_INGEST_HOST: '0.0.0.0', PKT_INGEST_CONFIG: '/app/config/docker.json' });
    expect(all(runtime, 'VOLUME').flatMap((v) => words(v.args))).toEqual(['/data']);
    expect(all(runtime, 'COPY').map((c) => c.args)).toContain('config ./config');
    // The image config is the default one with the capture moved to the volume.
    const docker = loadConfig({ configPath: root + 'config/docker.json', env: {} });
    const local = loadConfig({ configPath: root + 'config/default.json', env: {} });
    expect(docker.handlers).toEqual([{ ...local.handlers[0], path: '/data/capture.pkt' }]);
    expect({ ...docker, handlers: [] }).toEqual({ ...local, handlers: [] });
  });
});

describe('.dockerignore', () => {
  it('keeps dependencies, build output, captures and history out of the context', () => {
    const patterns = dockerignore();
    for (const path of ['node_modules', 'node_modules/x/index.js', 'dist', 'data', 'data/capture.pkt', '.git', 'test', 'bench', 'coverage', 'x.pkt', 'load/fixtures/y.pkt']) {
      expect(ignored(path, patterns), path).toBe(true);
    }
  });

  it('keeps what the stages copy', () => {
    const patterns = dockerignore();
    for (const path of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'src/cli.ts', 'config/docker.json', 'load/loadgen.ts']) {
      expect(ignored(path, patterns), path).toBe(false);
    }
  });
});
