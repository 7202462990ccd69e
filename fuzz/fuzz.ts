/**
 * `npm run fuzz -- --seconds N [--seed S] [--target frames|proxy] [--json]`:
 * seeded, reproducible fuzzing of the frame decoder and reader, in-process
 * and through a live server (see fuzz/lib/loop.ts), or of the PROXY
 * protocol parser (fuzz/lib/proxy-fuzz.ts). Exit 0: no findings; 1: findings (each
 * with the seed and the minimal input written to os.tmpdir()); 2: usage.
 */
import crypto from 'node:crypto';
import { parseArgs } from 'node:util';
import { FRAME_ERROR_REASONS } from '../src/wire/reasons.js';
import { LiveTarget, type LiveSettings } from './lib/live-driver.js';
import { LOOP_DEFAULTS, type FuzzFinding } from './lib/loop.js';
import { runReaderCase } from './lib/reader-driver.js';
import { runProxyFuzz } from './lib/proxy-fuzz.js';
import { runProxyLive } from './lib/proxy-live.js';
import { runFuzz, type FuzzReport } from './lib/run-fuzz.js';
import { loadCase } from './lib/shrink.js';
import { startProgress } from '../src/cli/progress.js';

const HELP = `Usage: npm run fuzz -- [options]

Feeds seeded, mutated PKT streams through the FrameReader (random rings,
policies, cuts and handler holds) and every N-th through a live server on
loopback, and checks them against a reference decoder (fuzz/lib/model.ts).

  --target T         frames (the default, above) or proxy: generated and
                     mutated PROXY protocol v1/v2 headers through the
                     incremental parser, checked read by read against a
                     reference judge (fuzz/lib/proxy-model.ts); every
                     --live-every-th case (default 50, at most 500 of them)
                     also goes through a live server with tcp.proxyProtocol
  --seconds N        how long to run (default 60)
  --seed S           run seed, 0..4294967295 (default: random, printed)
  --live-every N     every N-th input also goes through a live server; 0: never (default ${LOOP_DEFAULTS.liveEvery})
  --max-findings N   stop after N distinct findings (default ${LOOP_DEFAULTS.maxFindings})
  --replay FILE      run one saved case (the .json a finding wrote) and exit
  --json             print the report as one JSON object
  -h, --help         this text

Exit status: 0 no findings, 1 findings, 2 usage error.`;

function usage(message: string): never {
  process.stderr.write(`fuzz: ${message} (see --help)\n`);
  process.exit(2);
}

function integer(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!(n >= min && n <= max)) usage(`--${name} must be an integer ${min}..${max}, got '${value}'`);
  return n;
}

const mib = (n: number): string => `${(n / 1048576).toFixed(1)} MiB`;

function describe(f: FuzzFinding): string {
  const lines = [
    `FINDING ${f.kind} (${f.target}) at input ${f.index} of seed ${f.runSeed}: ${f.message.split('\n').slice(0, 6).join('\n    ')}`,
  ];
  if (f.saved.json !== '') {
    lines.push(`  input: ${f.saved.bin} (${f.minimalBytes} bytes, shrunk from ${f.originalBytes}; mutations ${f.mutations.join(', ') || 'none'})`);
    lines.push(`  replay: npm run fuzz -- --replay ${f.saved.json}`);
  }
  return lines.join('\n');
}

function summary(r: FuzzReport): string {
  const errors = FRAME_ERROR_REASONS.filter((x) => r.errors[x] > 0).map((x) => `${x}=${r.errors[x]}`);
  return [
    `seed         ${r.seed}`,
    `seconds      ${r.seconds.toFixed(1)}`,
    `inputs       ${r.inputs} (live: ${r.liveInputs} over ${r.liveRestarts} servers)`,
    `frames       ${r.frames} delivered and checked byte-exact`,
    `bytes        ${(r.bytes / 1e6).toFixed(1)} MB`,
    `errors       ${errors.join(' ') || 'none'} (each agreeing with the model)`,
    `heap         ${mib(r.heap.baselineBytes)} -> ${mib(r.heap.finalBytes)} after GC (limit +${mib(r.heap.limitBytes)})`,
    `findings     ${r.findings.length === 0 ? 'none' : r.findings.map((f) => `${f.kind}@${f.index} (x${f.count})`).join(' ')}`,
  ].join('\n');
}

async function replay(file: string): Promise<number> {
  const { c, target, server } = loadCase(file);
  const result =
    target === 'live'
      ? await (async () => {
          const live = await LiveTarget.start(server as LiveSettings);
          try {
            return await live.run(c);
          } finally {
            await live.stop();
          }
        })()
      : await runReaderCase(c);
  process.stdout.write(`${JSON.stringify({ target, bytes: c.bytes.length, frames: result.frames, errors: result.observed.errors, finding: result.finding }, null, 2)}\n`);
  return result.finding === null ? 0 : 1;
}

async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        seconds: { type: 'string' },
        target: { type: 'string' },
        seed: { type: 'string' },
        'live-every': { type: 'string' },
        'max-findings': { type: 'string' },
        replay: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    usage((err as Error).message.split('. ')[0]);
  }
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (values.replay !== undefined) return replay(values.replay);
  const seconds = integer('seconds', values.seconds, 1, 7 * 24 * 3600) ?? 60;
  const seed = integer('seed', values.seed, 0, 0xffffffff) ?? crypto.randomBytes(4).readUInt32LE(0);
  const json = values.json ?? false;
  const say = (line: string): boolean => (json ? process.stderr : process.stdout).write(`${line}\n`);
  const target = values.target ?? 'frames';
  if (target !== 'frames' && target !== 'proxy') usage(`--target must be frames or proxy, got '${target}'`);
  if (target === 'proxy') {
    say(`fuzz: proxy target, seed ${seed}, ${seconds} s (reproduce: npm run fuzz -- --target proxy --seconds ${seconds} --seed ${seed})`);
    const maxFindings = integer('max-findings', values['max-findings'], 1, 1000);
    const report = runProxyFuzz({ seed, seconds, maxFindings });
    const every = integer('live-every', values['live-every'], 0, 1_000_000) ?? 50;
    const live = every === 0 ? { inputs: 0, findings: [] } : await runProxyLive({ seed, every, count: Math.min(500, Math.ceil(report.inputs / every)), maxFindings });
    report.findings.push(...live.findings);
    for (const f of report.findings) say(`FINDING at input ${f.index} of seed ${seed}: ${f.message}${f.file === '' ? '' : `\n  input: ${f.file}`}`);
    if (json) process.stdout.write(`${JSON.stringify({ ...report, liveInputs: live.inputs })}\n`);
    else say(`inputs ${report.inputs} in ${report.seconds.toFixed(1)} s (live: ${live.inputs}); outcomes ${JSON.stringify(report.outcomes)}; findings ${report.findings.length}`);
    return report.findings.length === 0 ? 0 : 1;
  }
  say(`fuzz: seed ${seed}, ${seconds} s (reproduce: npm run fuzz -- --seconds ${seconds} --seed ${seed})`);
  const started = performance.now();
  let findings = 0;
  const progress = startProgress(() => `fuzz: ${((performance.now() - started) / 1000).toFixed(0)} / ${seconds} s, ${findings} findings`);
  const report = await runFuzz({
    seed,
    seconds,
    liveEvery: integer('live-every', values['live-every'], 0, 1_000_000),
    maxFindings: integer('max-findings', values['max-findings'], 1, 1000),
    onFinding: (f) => {
      findings++;
      progress.stop(); // a finding is printed on its own line; the line resumes on the next tick
      say(describe(f));
    },
  }).finally(() => progress.stop());
  if (json) process.stdout.write(`${JSON.stringify(report)}\n`);
  else say(summary(report));
  return report.findings.length === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`fuzz: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
