/**
 * Benchmark dispatcher: `tsx bench/run.ts [suite ...] [--json] [--quick]`.
 *
 * No suite runs every registered one. Reports go to stdout (markdown, or one
 * JSON object with --json), progress to stderr. Any contender giving a wrong
 * answer fails the run with exit code 1; a usage error exits 2.
 *
 * Without gc() exposed, the script re-runs itself once under --expose-gc so
 * runs can start from a collected heap.
 */
import { spawnSync } from 'node:child_process';
import { describeEnvironment, environmentLine } from './lib/env.js';
import { exposedGc } from './lib/gc.js';
import { BenchFailure, type SuiteRun } from './lib/suite.js';

interface SuiteEntry {
  readonly description: string;
  readonly load: () => Promise<{ run: SuiteRun }>;
}

/** Every suite, in run order. Adding one is one line here plus its module. */
const SUITES: Readonly<Record<string, SuiteEntry>> = {
  decoder: { description: 'in-process decode throughput: pkt-ingest vs copying and bl baselines', load: () => import('./decoder.js') },
  crc: { description: 'CRC-32 by size: JS slice-by-16 vs zlib.crc32 vs crc-32; the native crossover', load: () => import('./crc.js') },
  reader: { description: 'capture reader: readCapture vs a naive whole-file reader, dump --json of 1 GiB, RSS growth', load: () => import('./reader/index.js') },
  server: { description: 'end to end, each server its own process: pkt-ingest vs copying, bl and raw sinks', load: () => import('./server/index.js') },
  tls: { description: 'TLS ingest vs a bare TLS sink and the copying baseline over TLS, plain TCP before/after, 1,000-handshake storm', load: () => import('./tls/index.js') },
  acks: { description: 'acknowledgements end to end: capture interval with and without acks, always vs interval, commit latency', load: () => import('./acks.js') },
  jetstream: { description: 'frames into JetStream (needs nats-server): the jetstream sink vs one message per frame', load: () => import('./jetstream.js') },
};

const USAGE = `usage: tsx bench/run.ts [suite ...] [--json] [--quick]

  --json    print one JSON object instead of markdown
  --quick   tiny inputs, one repetition: a smoke test that still checks results
  --help    this text

suites (default: all):
${Object.entries(SUITES)
  .map(([name, s]) => `  ${name.padEnd(10)}${s.description}`)
  .join('\n')}`;

const CHILD_MARK = 'PKT_BENCH_CHILD';

function parseArgs(argv: readonly string[]): { suites: string[]; json: boolean; quick: boolean } | string {
  const suites: string[] = [];
  let json = false;
  let quick = false;
  for (const arg of argv) {
    if (arg === '--json') json = true;
    else if (arg === '--quick') quick = true;
    else if (arg.startsWith('-')) return `unknown option ${arg}`;
    else if (!Object.hasOwn(SUITES, arg)) return `unknown suite "${arg}" (known: ${Object.keys(SUITES).join(', ')})`;
    else if (!suites.includes(arg)) suites.push(arg);
  }
  return { suites: suites.length > 0 ? suites : Object.keys(SUITES), json, quick };
}

/** Run this same command again under --expose-gc; returns its exit code. */
function respawnWithGc(): number {
  const script = process.argv[1];
  const child = spawnSync(process.execPath, [...process.execArgv, '--expose-gc', script, ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, [CHILD_MARK]: '1' },
  });
  if (child.error) throw child.error;
  return child.status ?? 1;
}

async function main(argv: readonly string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const args = parseArgs(argv);
  if (typeof args === 'string') {
    process.stderr.write(`${args}\n\n${USAGE}\n`);
    return 2;
  }
  if (exposedGc() === null && process.env[CHILD_MARK] === undefined) return respawnWithGc();

  const env = describeEnvironment();
  const log = (line: string): void => void process.stderr.write(`[bench] ${line}\n`);
  const reports: Record<string, unknown> = {};
  const sections: string[] = [`## pkt-ingest benchmarks\n\n${environmentLine(env)}`];
  for (const name of args.suites) {
    log(`suite ${name}${args.quick ? ' (quick)' : ''}`);
    const { run } = await SUITES[name].load();
    try {
      const report = await run({ quick: args.quick, log });
      reports[name] = report.json;
      sections.push(report.markdown);
    } catch (error) {
      if (!(error instanceof BenchFailure)) throw error;
      process.stderr.write(`FAIL ${name}: ${error.message}\n`);
      return 1;
    }
  }
  process.stdout.write(args.json ? `${JSON.stringify({ env, quick: args.quick, suites: reports }, null, 2)}\n` : `${sections.join('\n\n')}\n`);
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
