/**
 * The runtime image, as far as it can be checked without a Docker engine:
 * `npm run build` emits the entry point, and the compiled server starts the
 * way the Dockerfile's CMD starts it (the runtime stage's ENV and WORKDIR,
 * config/docker.json), answers the HEALTHCHECK command, and exits 0 on
 * SIGTERM. The image's /app and /data become a temp directory; the ports
 * are overridden to 0 through the environment, as `docker run -e` would.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/wire/encode.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (file: string): string => fs.readFileSync(path.join(ROOT, file), 'utf8');

interface Instruction {
  keyword: string;
  args: string;
}

/** The last stage's instructions (continuations joined, comments dropped): the image `docker build .` makes. */
function runtimeStage(dockerfile: string): Instruction[] {
  const stages: Instruction[][] = [];
  let pending = '';
  for (const raw of dockerfile.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    const whole = (pending + line).trim();
    pending = '';
    const keyword = whole.split(/\s+/, 1)[0].toUpperCase();
    const ins = { keyword, args: whole.slice(keyword.length).trim() };
    if (keyword === 'FROM') stages.push([]);
    else stages.at(-1)?.push(ins);
  }
  return stages.at(-1) ?? [];
}

const execForm = (args: string): string[] => {
  expect(args.startsWith('['), `exec form expected: ${args}`).toBe(true);
  return JSON.parse(args) as string[];
};

const stage = runtimeStage(read('Dockerfile'));
const last = (keyword: string): string => {
  const found = stage.filter((i) => i.keyword === keyword).at(-1);
  if (!found) throw new Error(`the runtime stage has no ${keyword}`);
  return found.args;
};
const IMAGE_ENV: Record<string, string> = Object.fromEntries(
  stage
    .filter((i) => i.keyword === 'ENV')
    .flatMap((i) => i.args.split(/\s+/))
    .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
);
const WORKDIR = last('WORKDIR');
const CMD = execForm(last('CMD'));
const HEALTHCHECK = execForm(last('HEALTHCHECK').replace(/^(--\S+\s+)*CMD\s+/, ''));

let app = ''; // the image's WORKDIR (/app)
let data = ''; // the image's /data volume

/** An image path in the temp layout: /app/x -> <app>/x, /data/x -> <data>/x. */
function local(p: string): string {
  if (p === WORKDIR || p.startsWith(`${WORKDIR}/`)) return path.join(app, p.slice(WORKDIR.length));
  if (p.startsWith('/data/')) return path.join(data, p.slice('/data/'.length));
  return p;
}

/** The container's environment: the image's ENV (paths mapped), ports from `docker run -e`. */
function containerEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: os.tmpdir() };
  for (const [k, v] of Object.entries(IMAGE_ENV)) env[k] = local(v);
  return { ...env, ...extra };
}

/** argv with the image's `node` replaced by this one. */
const nodeArgv = (argv: string[]): [string, string[]] => {
  expect(argv[0]).toBe('node');
  return [process.execPath, argv.slice(1)];
};

let root = '';
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'pkt-image-'));
  app = path.join(root, 'app');
  data = path.join(root, 'data');
  fs.mkdirSync(data, { recursive: true });
  // `npm run build`'s own command, into the image's /app/dist instead of the repository's dist/.
  const build = (JSON.parse(read('package.json')) as { scripts: { build: string } }).scripts.build.split(/\s+/);
  expect(build[0]).toBe('tsc');
  const tsc = spawnSync(path.join(ROOT, 'node_modules/.bin/tsc'), [...build.slice(1), '--outDir', path.join(app, 'dist')], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  expect(tsc.status, tsc.stdout + tsc.stderr).toBe(0);
  // What the runtime stage copies next to dist/: package.json, node_modules (npm ci), config/.
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(app, 'package.json'));
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(app, 'node_modules'), 'dir');
  fs.mkdirSync(path.join(app, 'config'));
  const docker = JSON.parse(read('config/docker.json')) as { handlers: { type: string; path?: string }[] };
  for (const h of docker.handlers) if (h.path !== undefined) h.path = local(h.path);
  fs.writeFileSync(path.join(app, 'config/docker.json'), JSON.stringify(docker));
}, 60_000);

afterAll(() => {
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

describe('the runtime image without Docker', () => {
  it('npm run build emits the package entry point dist/cli.js', () => {
    const pkg = JSON.parse(read('package.json')) as { bin: Record<string, string> };
    expect(pkg.bin['pkt-ingest']).toBe('dist/cli.js');
    expect(CMD).toEqual(['node', 'dist/cli.js', 'serve']);
    const cli = path.join(app, 'dist/cli.js');
    expect(fs.existsSync(cli), cli).toBe(true);
    expect(fs.readFileSync(cli, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
  });

  it('reads the image config through the ENV the Dockerfile sets', () => {
    expect(IMAGE_ENV).toMatchObject({ NODE_ENV: 'production', PKT_INGEST_CONFIG: `${WORKDIR}/config/docker.json` });
    expect(fs.existsSync(local(IMAGE_ENV.PKT_INGEST_CONFIG))).toBe(true);
  });

  it('starts as CMD starts it, passes the HEALTHCHECK, captures to the volume, exits 0 on SIGTERM', async () => {
    const [node, args] = nodeArgv(CMD);
    const child = spawn(node, args, {
      cwd: local(WORKDIR),
      env: containerEnv({ PKT_INGEST_PORT: '0', PKT_INGEST_HTTP_PORT: '0' }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const lines: string[] = [];
    try {
      const listening = await new Promise<{ tcpPort: number; httpPort: number }>((resolve, reject) => {
        readline.createInterface({ input: child.stdout }).on('line', (line) => {
          lines.push(line);
          if (line.includes('"msg":"listening"')) resolve(JSON.parse(line) as { tcpPort: number; httpPort: number });
        });
        void exited.then(([code]) => reject(new Error(`exited ${code} before listening: ${stderr}${lines.join('\n')}`)));
      });
      expect(listening.tcpPort).toBeGreaterThan(0);
      expect(listening.httpPort).toBeGreaterThan(0);

      const health = await fetch(`http://127.0.0.1:${listening.httpPort}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: 'ok' });

      // The HEALTHCHECK command itself, in the container's environment with the port it was given.
      const [hcNode, hcArgs] = nodeArgv(HEALTHCHECK);
      const check = (port: number) =>
        spawnSync(hcNode, hcArgs, { env: containerEnv({ PKT_INGEST_HTTP_PORT: String(port) }), encoding: 'utf8', timeout: 10_000 });
      const ok = check(listening.httpPort);
      expect(ok.status, ok.stderr).toBe(0);
      // ... and it can fail: nothing listens on a port just released.
      const probe = net.createServer().listen(0, '127.0.0.1');
      await once(probe, 'listening');
      const closedPort = (probe.address() as net.AddressInfo).port;
      await new Promise((r) => probe.close(r));
      expect(check(closedPort).status).toBe(1);

      // The docker config's capture handler writes to the volume.
      const frame = encodeFrame({ sourceId: 'image', destId: 'test', payload: Buffer.from('hello') });
      const socket = net.connect(listening.tcpPort, '127.0.0.1');
      await once(socket, 'connect');
      socket.end(frame);
      socket.resume();
      await once(socket, 'close');

      child.kill('SIGTERM');
      const [code, signal] = await exited;
      expect({ code, signal, stderr }).toEqual({ code: 0, signal: null, stderr: '' });
      expect(lines.some((l) => l.includes('"msg":"stopped"'))).toBe(true);
      expect(fs.readFileSync(path.join(data, 'capture.pkt')).equals(frame)).toBe(true);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
