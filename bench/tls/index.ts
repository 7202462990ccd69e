/**
 * The `tls` suite (issue 14's goals), every server its own process, fed by
 * the server suite's producer child, contenders rotated per repetition:
 *
 *   over TLS   pkt-ingest (tcp.tls, no-op handler)  vs  a bare Node TLS server counting bytes ('data')
 *                                                   vs  the copying baseline (concat) over TLS
 *   plain TCP  pkt-ingest of this tree              vs  pkt-ingest of PKT_BENCH_BEFORE (default main),
 *                                                       exported with `git archive` into a temp dir
 *   storm      1,000 concurrent handshakes: /healthz latency, RSS before and after (storm.ts),
 *              once per allocator (glibc, jemalloc: allocator.ts), pkt-ingest and the bare TLS server
 *
 * Goals: 16 KiB over TLS >= 80% of the bare TLS sink; 64 B over TLS >= 2x
 * the copying baseline over TLS; plain TCP unchanged within noise;
 * /healthz p99 < 1 s during the storm. Certificates are made with openssl
 * into a temp dir (test/helpers/certs.ts) and removed afterwards.
 */
import { execSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestCerts, type TestCerts } from '../../test/helpers/certs.js';
import { median, fixed, percent, spread } from '../lib/stats.js';
import { BenchFailure, type SuiteOptions, type SuiteReport } from '../lib/suite.js';
import { markdownTable } from '../lib/table.js';
import { ProducerChild, ROOT } from '../server/children.js';
import { countHandler, pktIngest, type Contender, type ContenderKey } from '../server/contenders.js';
import { frameBytes, measureRun, MAX_ATTEMPTS, type Workload } from '../server/measure.js';
import { allocatorEnv, stormAllocators, type Allocator } from './allocator.js';
import { runBareStorm, runStorm, type StormResult } from './storm.js';

interface Plan {
  readonly repetitions: number;
  readonly packets: Readonly<Record<64 | 16384, number>>;
  readonly stormCount: number;
  readonly stormRounds: number;
  readonly maxAttempts: number;
}

const FULL: Plan = { repetitions: 3, packets: { 64: 1_000_000, 16384: 60_000 }, stormCount: 1000, stormRounds: 4, maxAttempts: MAX_ATTEMPTS };
const QUICK: Plan = { repetitions: 1, packets: { 64: 20_000, 16384: 500 }, stormCount: 100, stormRounds: 2, maxAttempts: 1 };

/** `git archive` of `ref` (src, config, package.json) into a temp dir sharing this tree's node_modules. */
function exportTree(ref: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'pkt-ingest-before-'));
  execSync(`git archive ${ref} src config package.json tsconfig.json | tar -x -C ${dir}`, { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

function contenders(certs: TestCerts, beforeDir: string): { tls: Contender[]; plain: Contender[] } {
  const serverTls = { PKT_BENCH_TLS_CERT: certs.server.certFile, PKT_BENCH_TLS_KEY: certs.server.keyFile };
  const clientTls = { ca: certs.ca, servername: 'localhost' };
  const tcpTls = { tls: { certFile: certs.server.certFile, keyFile: certs.server.keyFile } };
  const baseline = (name: string, script: string, n: number) => ({ name, script, args: ['--connections', String(n)], announce: 'ipc' as const, env: serverTls });
  const c = (key: ContenderKey, name: string, parses: boolean, start: Contender['start'], tls: boolean): Contender => ({
    key, name, parses, compared: true, start, ...(tls ? { clientTls } : {}),
  });
  return {
    tls: [
      c('pkt-ingest-tls', 'pkt-ingest over TLS, no-op handler', true, (n, dir) => pktIngest('pkt-ingest tls', dir, [countHandler(n)], tcpTls), true),
      c('raw-data-tls', "bare Node TLS server, counts bytes ('data')", false, (n) => baseline('raw tls sink', 'bench/servers/raw-data-sink.ts', n), true),
      c('copying-tls', 'copying baseline (concat) over TLS', true, (n) => baseline('copying tls', 'bench/servers/copying-server.ts', n), true),
    ],
    plain: [
      c('pkt-ingest', 'pkt-ingest plain TCP, this tree', true, (n, dir) => pktIngest('pkt-ingest', dir, [countHandler(n)]), false),
      c('pkt-ingest-before', 'pkt-ingest plain TCP, before', true, (n, dir) => pktIngest('pkt-ingest before', dir, [countHandler(n)], {}, join(beforeDir, 'src/cli.ts')), false),
    ],
  };
}

interface Row {
  readonly workload: string;
  readonly key: ContenderKey;
  readonly name: string;
  readonly seconds: number;
  readonly mbps: number;
  readonly mpps: number;
  readonly spread: number;
  readonly runs: readonly number[];
}

async function measureGroup(group: Contender[], w: Workload, plan: Plan, producer: ProducerChild, log: SuiteOptions['log']): Promise<Row[]> {
  const samples = new Map<ContenderKey, number[]>(group.map((c) => [c.key, []]));
  for (let rep = 0; rep < plan.repetitions; rep++) {
    for (let k = 0; k < group.length; k++) {
      const c = group[(rep + k) % group.length];
      const s = await measureRun(c, w, producer, log, plan.maxAttempts);
      (samples.get(c.key) as number[]).push(s.seconds);
      log(`tls ${w.name} run ${rep + 1}/${plan.repetitions}: ${c.key} ${(w.packets / s.seconds / 1e6).toFixed(3)} Mpkt/s (other load ${s.foreignCores.toFixed(2)} cores)`);
    }
  }
  const bytes = w.packets * frameBytes(w.payloadBytes);
  return group.map((c) => {
    const runs = samples.get(c.key) as number[];
    const seconds = median(runs);
    return { workload: w.name, key: c.key, name: c.name, seconds, mbps: bytes / seconds / 1e6, mpps: w.packets / seconds / 1e6, spread: spread(runs), runs };
  });
}

const workload = (payloadBytes: 64 | 16384, packets: number): Workload => ({
  name: payloadBytes === 64 ? '64 B x1' : '16 KiB x1',
  payloadBytes,
  connections: 1,
  packets,
  warmupPackets: Math.floor(packets / 5),
});

function ratio(rows: Row[], workloadName: string, a: ContenderKey, b: ContenderKey): number {
  const x = rows.find((r) => r.workload === workloadName && r.key === a);
  const y = rows.find((r) => r.workload === workloadName && r.key === b);
  return x === undefined || y === undefined ? NaN : y.seconds / x.seconds;
}

interface Storms {
  readonly allocator: Allocator;
  readonly storm: StormResult;
  /** The bare Node TLS server's RSS under the same storms, baseline first. */
  readonly bare: number[];
}

function stormLine({ allocator, storm, bare }: Storms): string {
  const h = storm.healthz;
  return (
    `Storm, ${allocator}: ${storm.ok}/${storm.count} concurrent handshakes (one client process) in ${fixed(storm.stormSeconds, 2)} s; ` +
    `/healthz during it: ${h.samples} requests, p50 ${fixed(h.p50Ms, 1)} ms, p99 ${fixed(h.p99Ms, 1)} ms, max ${fixed(h.maxMs, 1)} ms ` +
    `(at rest p99 ${fixed(storm.healthzAtRest.p99Ms, 1)} ms). RSS ${fixed(storm.rssBaselineMiB, 1)} MiB before, peak ${fixed(storm.rssPeakMiB, 1)} MiB, ` +
    `${fixed(storm.rssAfterMiB, 1)} MiB after, then ${storm.rssAfterMore.map((m) => fixed(m, 1)).join(', ')} MiB after each further storm; ` +
    `heap used ${storm.heapUsedMiB.map((m) => fixed(m, 1)).join(' -> ')} MiB, heap reserved ${storm.held.map((m) => fixed(m.heapTotalMiB, 1)).join(' -> ')} MiB, ` +
    `external ${storm.held.map((m) => fixed(m.externalMiB, 1)).join(' -> ')} MiB, rings ${storm.held.map((m) => fixed(m.ringMiB, 1)).join(' -> ')} MiB. ` +
    `The bare Node TLS server under the same storms: RSS ${bare.map((m) => fixed(m, 1)).join(' -> ')} MiB.`
  );
}

function stormGoals({ allocator, storm }: Storms, count: number): Array<{ goal: string; value: string; met: boolean }> {
  const rss = [storm.rssAfterMiB, ...storm.rssAfterMore];
  const plateau = rss.map((m) => fixed(m, 1)).join(' -> ') + ' MiB';
  const plateauMet = rss.length < 2 || rss[rss.length - 1] - rss[rss.length - 2] <= rss[rss.length - 2] * 0.05;
  return [
    { goal: `storm (${allocator}): /healthz p99 < 1 s during ${count} handshakes`, value: `${fixed(storm.healthz.p99Ms, 1)} ms`, met: storm.healthz.p99Ms < 1000 },
    {
      goal: `storm (${allocator}): RSS after within 10% (or 8 MiB) of before`,
      value: `${fixed(storm.rssBaselineMiB, 1)} -> ${fixed(storm.rssAfterMiB, 1)} MiB`,
      met: storm.rssAfterMiB - storm.rssBaselineMiB <= Math.max(8, storm.rssBaselineMiB * 0.1),
    },
    { goal: `storm (${allocator}): the last further storm adds < 5% RSS (nothing accumulates)`, value: plateau, met: plateauMet },
  ];
}

function render(rows: Row[], goals: Array<{ goal: string; value: string; met: boolean }>, storms: Storms[], plan: Plan, before: string): string {
  const table = markdownTable(
    ['workload', 'server', 'median s', 'MB/s', 'Mpkt/s', 'spread', 'runs (s)'],
    rows.map((r) => [r.workload, r.name, fixed(r.seconds, 3), fixed(r.mbps, 0), fixed(r.mpps, 3), percent(r.spread), r.runs.map((s) => fixed(s, 3)).join(' ')]),
  );
  const goalTable = markdownTable(['goal', 'measured', 'met'], goals.map((g) => [g.goal, g.value, g.met ? 'yes' : 'NO']));
  return [
    `### tls: TLS ingest, plain TCP before/after, handshake storm`,
    `${plan.repetitions} repetition(s) per cell, medians; one connection; "before" is ${before}.`,
    table,
    ...storms.map(stormLine),
    goalTable,
  ].join('\n\n');
}

export async function run(options: SuiteOptions): Promise<SuiteReport> {
  const plan = options.quick ? QUICK : FULL;
  const before = process.env.PKT_BENCH_BEFORE ?? 'main';
  const certs = await makeTestCerts();
  const beforeDir = exportTree(before);
  const stormDir = join(certs.dir, 'storm');
  mkdirSync(stormDir);
  const producer = new ProducerChild();
  const rows: Row[] = [];
  const storms: Storms[] = [];
  try {
    const groups = contenders(certs, beforeDir);
    for (const size of [16384, 64] as const) {
      const w = workload(size, plan.packets[size]);
      options.log(`tls ${w.name}: ${w.packets} frames (+${w.warmupPackets} warm-up) per run`);
      rows.push(...(await measureGroup(groups.tls, w, plan, producer, options.log)));
      rows.push(...(await measureGroup(groups.plain, w, plan, producer, options.log)));
    }
    const files = { certFile: certs.server.certFile, keyFile: certs.server.keyFile, caFile: certs.caFile };
    for (const allocator of stormAllocators(options.log)) {
      const env = allocatorEnv(allocator);
      const dir = join(stormDir, allocator);
      mkdirSync(dir);
      options.log(`tls storm with ${allocator}`);
      const storm = await runStorm({ count: plan.stormCount, rounds: plan.stormRounds, dir, ...files, env, log: options.log });
      const bare = await runBareStorm({ count: plan.stormCount, rounds: plan.stormRounds, ...files, env });
      options.log(`tls storm (${allocator}), bare Node TLS server: RSS ${bare.map((m) => m.toFixed(1)).join(' -> ')} MiB`);
      storms.push({ allocator, storm, bare });
    }
  } finally {
    await producer.stop();
    certs.remove();
    rmSync(beforeDir, { recursive: true, force: true });
  }
  const vsSink = ratio(rows, '16 KiB x1', 'pkt-ingest-tls', 'raw-data-tls');
  const vsCopying = ratio(rows, '64 B x1', 'pkt-ingest-tls', 'copying-tls');
  const plain64 = ratio(rows, '64 B x1', 'pkt-ingest', 'pkt-ingest-before');
  const plain16k = ratio(rows, '16 KiB x1', 'pkt-ingest', 'pkt-ingest-before');
  const goals = [
    { goal: 'TLS 16 KiB: pkt-ingest / bare TLS sink >= 0.80', value: fixed(vsSink), met: vsSink >= 0.8 },
    { goal: 'TLS 64 B: pkt-ingest / copying baseline over TLS >= 2', value: fixed(vsCopying), met: vsCopying >= 2 },
    { goal: 'plain TCP 64 B: this tree / before (1.00 = unchanged)', value: fixed(plain64), met: plain64 >= 0.95 },
    { goal: 'plain TCP 16 KiB: this tree / before (1.00 = unchanged)', value: fixed(plain16k), met: plain16k >= 0.95 },
    ...storms.flatMap((s) => stormGoals(s, plan.stormCount)),
  ];
  if (rows.some((r) => !(r.seconds > 0))) throw new BenchFailure('a run timed 0 s');
  return { markdown: render(rows, goals, storms, plan, before), json: { plan, before, rows, storms, goals } };
}
