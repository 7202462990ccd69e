/**
 * The `acks` suite: what acknowledgements cost, end to end, each server its
 * own process (the server suite's children), side by side, medians.
 *
 *   plain        pkt-ingest, counting handler, no acks (the plain path)
 *   plain main   the same from another checkout (PKT_BENCH_BASELINE=DIR, e.g.
 *                /work/main): the plain path before and after this branch
 *   interval     capture fsync interval (+ counting), producer without acks
 *   interval+ack the same, producer in ack mode (every frame ACK_REQUEST)
 *   always       capture fsync always, producer without acks (64 B only)
 *   always+ack   capture fsync always, ack mode (64 B only)
 *
 * Throughput is the server's (first packet to the last packet's read, from
 * the counting handler); in ack mode the producer then waits for the last
 * ACK, which is not in that time. Commit latency p50/p99 is /status's
 * (the last 1024 sampled commits of the measured run); ACK latency p50/p99
 * the producer's (a write of ~256 KiB until an ACK covers it).
 * Goals: interval+ack >= 80% of interval (64 B and 16 KiB); always+ack >= 50%
 * of interval+ack at 64 B.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LoadReport } from '../load/lib/report.js';
import { median } from './lib/stats.js';
import { BenchFailure, type SuiteOptions, type SuiteReport } from './lib/suite.js';
import { ProducerChild, ROOT, ServerChild, type ServerStart } from './server/children.js';
import { frameBytes } from './server/measure.js';

interface AckContender {
  readonly key: string;
  readonly acks: boolean;
  readonly script: string;
  readonly capture: 'interval' | 'always' | null;
  /** Only at these payload sizes. */
  readonly payloads: readonly number[];
}

interface Sample {
  readonly mpkts: number;
  readonly commitP50Ms: number | null;
  readonly commitP99Ms: number | null;
  readonly ackP50Ms: number | null;
  readonly ackP99Ms: number | null;
}

const PAYLOADS = [64, 16384] as const;
const FULL = { repetitions: 5, packets: { 64: 1_000_000, 16384: 60_000 } as Record<number, number> };
const QUICK = { repetitions: 1, packets: { 64: 20_000, 16384: 500 } as Record<number, number> };

function contenders(): AckContender[] {
  const list: AckContender[] = [
    { key: 'plain', acks: false, script: 'src/cli.ts', capture: null, payloads: PAYLOADS },
    { key: 'interval', acks: false, script: 'src/cli.ts', capture: 'interval', payloads: PAYLOADS },
    { key: 'interval+ack', acks: true, script: 'src/cli.ts', capture: 'interval', payloads: PAYLOADS },
    { key: 'always', acks: false, script: 'src/cli.ts', capture: 'always', payloads: [64] },
    { key: 'always+ack', acks: true, script: 'src/cli.ts', capture: 'always', payloads: [64] },
  ];
  const baseline = process.env.PKT_BENCH_BASELINE;
  if (baseline) list.unshift({ key: 'plain main', acks: false, script: join(baseline, 'src/cli.ts'), capture: null, payloads: PAYLOADS });
  return list;
}

function start(c: AckContender, dir: string): ServerStart {
  const count = { type: 'module', name: 'count', path: join(ROOT, 'bench/servers/noop-handler.mjs'), options: { connections: 1 } };
  const capture = c.capture === null ? [] : [{ type: 'capture', path: join(dir, 'capture.pkt'), fsync: c.capture, keepFiles: 8 }];
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify({ tcp: { host: '127.0.0.1', port: 0 }, http: { host: '127.0.0.1', port: 0 }, log: { level: 'info' }, handlers: [...capture, count] }));
  return { name: c.key, script: c.script, args: ['serve', '--config', file], announce: 'log' };
}

function check(c: AckContender, packets: number, sent: LoadReport, got: { packets: number }): void {
  const problems: string[] = [];
  if (sent.errors > 0) problems.push(`the producer failed: ${sent.firstError ?? 'unknown'}`);
  if (got.packets !== packets) problems.push(`the server delivered ${got.packets}`);
  if (c.acks && sent.acked !== packets) problems.push(`${sent.acked} acknowledged`);
  if (problems.length > 0) throw new BenchFailure(`acks ${c.key}: expected ${packets} frames; ${problems.join('; ')}`);
}

async function runOnce(c: AckContender, payloadBytes: number, packets: number, producer: ProducerChild): Promise<Sample> {
  const dir = mkdtempSync(join(tmpdir(), 'pkt-bench-acks-'));
  let server: ServerChild | null = null;
  try {
    server = await ServerChild.start(start(c, dir));
    const load = { port: server.port, connections: 1, payloadBytes, acks: c.acks };
    const timeout = 60_000 + (packets * frameBytes(payloadBytes)) / 20_000;
    const warm = Math.max(1, Math.floor(packets / 5));
    const [warmSent, warmGot] = await Promise.all([producer.run({ ...load, packets: warm }), server.nextSession(timeout)]);
    check(c, warm, warmSent, warmGot);
    const [sent, got] = await Promise.all([producer.run({ ...load, packets }), server.nextSession(timeout)]);
    check(c, packets, sent, got);
    type Commit = { p50Seconds: number; p99Seconds: number } | null;
    const commit: Commit = c.acks ? ((await (await fetch(`http://127.0.0.1:${server.httpPort}/status`)).json()) as { commit: Commit }).commit : null;
    return {
      mpkts: packets / got.seconds / 1e6,
      commitP50Ms: commit === null ? null : commit.p50Seconds * 1000,
      commitP99Ms: commit === null ? null : commit.p99Seconds * 1000,
      ackP50Ms: sent.ackP50Ms ?? null,
      ackP99Ms: sent.ackP99Ms ?? null,
    };
  } finally {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What each contender is compared with. */
function baselineOf(key: string): string {
  if (key.startsWith('plain')) return 'plain';
  if (key === 'always+ack') return 'interval+ack';
  return key === 'interval+ack' || key === 'always' ? 'interval' : key;
}

const ms = (v: number | null): string => (v === null ? '-' : v.toFixed(1));
const med = (xs: Sample[], f: (s: Sample) => number | null): number | null => {
  const vs = xs.map(f).filter((v): v is number => v !== null);
  return vs.length === 0 ? null : median(vs);
};

export async function run(options: SuiteOptions): Promise<SuiteReport> {
  const plan = options.quick ? QUICK : FULL;
  const list = contenders();
  const producer = new ProducerChild();
  const rows: string[] = [];
  const json: Record<string, unknown>[] = [];
  try {
    for (const payload of PAYLOADS) {
      const here = list.filter((c) => c.payloads.includes(payload));
      const samples = new Map<string, Sample[]>(here.map((c) => [c.key, []]));
      for (let rep = 0; rep < plan.repetitions; rep++) {
        for (let k = 0; k < here.length; k++) {
          const c = here[(rep + k) % here.length]; // rotated: no contender always first
          const s = await runOnce(c, payload, plan.packets[payload], producer);
          (samples.get(c.key) as Sample[]).push(s);
          options.log(`acks ${payload} B ${c.key} run ${rep + 1}/${plan.repetitions}: ${s.mpkts.toFixed(3)} Mpkt/s, commit p50 ${ms(s.commitP50Ms)} ms`);
        }
      }
      const mpkts = (key: string): number | null => med(samples.get(key) ?? [], (s) => s.mpkts);
      for (const c of here) {
        const xs = samples.get(c.key) as Sample[];
        const m = mpkts(c.key) as number;
        const vsName = baselineOf(c.key);
        const vs = mpkts(vsName);
        const ratio = vs === null ? '-' : `${((m / vs) * 100).toFixed(0)}%`;
        const row = { payload, contender: c.key, mpkts: m, vs: vsName, ratio, commitP50Ms: med(xs, (s) => s.commitP50Ms), commitP99Ms: med(xs, (s) => s.commitP99Ms), ackP50Ms: med(xs, (s) => s.ackP50Ms), ackP99Ms: med(xs, (s) => s.ackP99Ms) };
        json.push(row);
        rows.push(`| ${payload} B | ${c.key} | ${m.toFixed(3)} | ${ratio} of ${vsName} | ${ms(row.commitP50Ms)} / ${ms(row.commitP99Ms)} | ${ms(row.ackP50Ms)} / ${ms(row.ackP99Ms)} |`);
      }
    }
  } finally {
    await producer.stop();
  }
  const markdown = [
    `## acks: acknowledgements end to end (1 connection, medians of ${plan.repetitions}${options.quick ? ', quick' : ''})`,
    '',
    '| payload | contender | Mpkt/s (server) | ratio | commit p50 / p99 ms | ACK p50 / p99 ms (producer) |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
    'Goals: interval+ack >= 80% of interval; always+ack >= 50% of interval+ack (64 B). always vs interval without acks shows',
    'what fsync always costs by itself (its writes hold their ring bytes until the sync, so a failed sync can rewrite them).',
  ].join('\n');
  return { markdown, json: { plan, rows: json } };
}
