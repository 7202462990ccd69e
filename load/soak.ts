/**
 * `npm run soak -- --minutes N [--json]`: a long steady run against a real
 * server, looking for slow leaks and drift. See HELP.
 *
 *   child: pkt-ingest serve (temp config, rotating capture, small keepFiles)
 *   probe: runLoad flat out for --probe-seconds -> capacity (server-side rate)
 *   steady: two staggered lanes of runLoad rounds at capacity/2 in total,
 *           each round new connections (churn every --churn-seconds), every
 *           --corrupt-every-th frame with a wrong checksum
 *   every second: /metrics -> RSS, V8 heap used, event-loop lag p99, rate
 *
 * Verdict (exit 1 if any fails): memory slope over the second half under
 * its limit (least squares; see LIMITS), throughput drift between the two
 * halves within 10%, every frame accounted for (delivered + dropped as
 * corrupt = sent), clean exit on SIGTERM, capture files whole.
 */
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { inspectFile } from '../src/inspect/inspect-file.js';
import { startChild, type ChildServer } from '../test/helpers/child-server.js';
import { runLoad, type LoadOptions } from './lib/run-load.js';
import { si, startProgress } from '../src/cli/progress.js';

const HELP = `Usage: npm run soak -- --minutes N [options]

Starts pkt-ingest as a child process (capture handler, rotating, in a temp
dir), finds its capacity (or takes --rate), then runs steady load at half of
it with connection churn and a trickle of corrupt frames, sampling the
server's memory, event-loop lag and throughput every second.

  --minutes N          steady-phase length (decimal allowed; default 10)
  --rate PPS           steady rate, packets/s; skips the capacity probe
  --probe-seconds S    capacity probe length (default 5)
  --connections N      connections per lane, two lanes (default 2)
  --churn-seconds S    each lane reconnects this often (default 3)
  --corrupt-every K    every K-th frame has a wrong checksum (default 997)
  --payload BYTES      payload size (default 256)
  --fsync MODE         capture fsync: never (default), interval or always. At
                       half capacity the capture takes ~100 MB/s; with never,
                       files rotated away are deleted before writeback, so a
                       shared disk is spared
  --keep               keep the temp dir (config, captures, samples.csv)
  --json               print the report as one JSON object
  -h, --help           this text

Exit status: 0 all checks passed, 1 a check failed, 2 usage error.`;

/**
 * Memory limits for the least-squares slope over the second half. At the
 * rates this runs (about 500,000 packets/s here) a leak of one byte per
 * packet is about 29 MiB per minute, and of one ring (256 KiB) per churned
 * connection (80 a minute) 20 MiB per minute; the GC sawtooth (some 27 MiB
 * peak to peak) moves a slope fitted over five minutes of one-second
 * samples by about 0.1 MiB/min (figures in docs/reliability.md).
 */
const LIMITS = {
  heapSlopeMiBPerMin: 1,
  rssSlopeMiBPerMin: 2,
  throughputDrift: 0.1,
};

interface Sample {
  t: number;
  packets: number;
  crc: number;
  rss: number;
  heap: number;
  lagP99: number;
  connections: number;
  ringBytes: number;
}

function usage(message: string): never {
  process.stderr.write(`soak: ${message} (see --help)\n`);
  process.exit(2);
}

function num(name: string, v: string | undefined, min: number, def: number): number {
  if (v === undefined) return def;
  const n = /^\d+(\.\d+)?$/.test(v) ? Number(v) : NaN;
  if (!(n >= min)) usage(`--${name} must be a number >= ${min}, got '${v}'`);
  return n;
}

async function scrape(srv: ChildServer, t: number): Promise<Sample> {
  const text = await (await fetch(`http://127.0.0.1:${srv.httpPort}/metrics`)).text();
  const get = (series: string): number => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? NaN : Number(line.slice(series.length + 1));
  };
  return {
    t,
    packets: get('pkt_ingest_packets_total'),
    crc: get('pkt_ingest_frame_errors_total{reason="crc_mismatch"}'),
    rss: get('process_resident_memory_bytes'),
    heap: get('nodejs_heap_size_used_bytes'),
    lagP99: get('nodejs_eventloop_lag_p99_seconds'),
    connections: get('pkt_ingest_connections_active'),
    ringBytes: get('pkt_ingest_ring_bytes'),
  };
}

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
  }
  return sxx === 0 ? 0 : sxy / sxx;
}

const mean = (xs: number[]): number => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);
const MiB = 1024 * 1024;

async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        minutes: { type: 'string' },
        rate: { type: 'string' },
        'probe-seconds': { type: 'string' },
        connections: { type: 'string' },
        'churn-seconds': { type: 'string' },
        'corrupt-every': { type: 'string' },
        payload: { type: 'string' },
        fsync: { type: 'string' },
        keep: { type: 'boolean' },
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
  const minutes = num('minutes', values.minutes, 0.1, 10);
  const connections = Math.floor(num('connections', values.connections, 1, 2));
  const churnS = num('churn-seconds', values['churn-seconds'], 0.5, 3);
  const corruptEvery = Math.floor(num('corrupt-every', values['corrupt-every'], 0, 997));
  const payload = Math.floor(num('payload', values.payload, 0, 256));
  const probeS = num('probe-seconds', values['probe-seconds'], 1, 5);
  const fsyncMode = values.fsync ?? 'never';
  if (!['never', 'interval', 'always'].includes(fsyncMode)) usage(`--fsync must be never, interval or always, got '${fsyncMode}'`);
  const json = values.json ?? false;
  const say = (line: string): void => void (json ? process.stderr : process.stdout).write(`${line}\n`);

  const srv = await startChild({
    handlers: [{ type: 'capture', path: 'data/capture.pkt', fsync: fsyncMode, fsyncIntervalMs: 1000, rotateBytes: 32 * MiB, keepFiles: 2 }],
    onChecksumError: 'drop',
    log: { level: 'warn' },
  });
  const load = (lane: Partial<LoadOptions>): Promise<Awaited<ReturnType<typeof runLoad>>> =>
    runLoad({ host: '127.0.0.1', port: srv.tcpPort, payloadMin: payload, payloadMax: payload, ...lane });
  const checks: Array<{ name: string; ok: boolean; detail: string }> = [];
  try {
    // Capacity, measured where it matters: packets the server delivered.
    let rate = values.rate === undefined ? 0 : num('rate', values.rate, 1, 0);
    let capacity: number | null = null;
    if (rate === 0) {
      const before = await scrape(srv, performance.now());
      await load({ connections: 2 * connections, durationS: probeS });
      const after = await scrape(srv, performance.now());
      capacity = (after.packets - before.packets) / ((after.t - before.t) / 1000);
      rate = Math.max(1, Math.round(capacity / 2));
      say(`soak: capacity ${Math.round(capacity)} pkt/s; steady at ${rate} pkt/s for ${minutes} min`);
    } else say(`soak: steady at ${rate} pkt/s for ${minutes} min`);

    const start = await scrape(srv, performance.now());
    const t0 = start.t;
    const deadline = t0 + minutes * 60_000;
    const totals = { sent: 0, corrupted: 0, errors: 0, rounds: 0, firstError: null as string | null };
    const lane = async (delayMs: number, seed: number): Promise<void> => {
      await sleep(delayMs);
      for (let round = 0; performance.now() < deadline; round++) {
        const durationS = Math.min(churnS, (deadline - performance.now()) / 1000);
        if (durationS < 0.2) break;
        const r = await load({ connections, durationS, rate: rate / 2, corruptEvery, seed: seed + round });
        totals.sent += r.packets;
        totals.corrupted += r.corrupted;
        totals.errors += r.errors;
        totals.rounds++;
        totals.firstError ??= r.firstError;
      }
    };
    const samples: Sample[] = [];
    const progress = startProgress(() => {
      const s = samples[samples.length - 1];
      const memory = s === undefined ? '' : `, server RSS ${(s.rss / MiB).toFixed(1)} MiB`;
      return `soak: ${((performance.now() - t0) / 60_000).toFixed(1)} / ${minutes} min, sent ${si(totals.sent)} pkts, ${totals.errors} errors${memory}`;
    });
    let alive = true;
    const sampler = (async () => {
      while (alive && performance.now() < deadline + 1000) {
        await sleep(1000);
        if (srv.child.exitCode !== null) break;
        samples.push(await scrape(srv, performance.now()));
        if (!json && samples.length % 60 === 0) {
          const s = samples[samples.length - 1];
          say(`  ${((s.t - t0) / 60_000).toFixed(1)} min: RSS ${(s.rss / MiB).toFixed(1)} MiB, heap ${(s.heap / MiB).toFixed(1)} MiB, lag p99 ${(s.lagP99 * 1000).toFixed(1)} ms`);
        }
      }
    })();
    await Promise.all([lane(0, 1), lane((churnS * 1000) / 2, 1_000_001)]);
    alive = false;
    await sampler;
    progress.stop();
    // Every connection has closed: the server has read everything sent.
    const end = await scrape(srv, performance.now());

    // ---- analysis, over the steady phase
    const steady = samples.filter((s) => s.t <= deadline);
    const rates = steady.slice(1).map((s, i) => ({ t: s.t, pps: (s.packets - steady[i].packets) / ((s.t - steady[i].t) / 1000) }));
    const half = t0 + (deadline - t0) / 2;
    const firstHalf = mean(rates.filter((r) => r.t <= half).map((r) => r.pps));
    const secondHalf = mean(rates.filter((r) => r.t > half).map((r) => r.pps));
    const drift = firstHalf > 0 ? Math.abs(secondHalf - firstHalf) / firstHalf : 1;
    const late = steady.filter((s) => s.t > half);
    const minutesOf = late.map((s) => (s.t - t0) / 60_000);
    const rssSlope = slope(minutesOf, late.map((s) => s.rss)) / MiB;
    const heapSlope = slope(minutesOf, late.map((s) => s.heap)) / MiB;
    const delivered = end.packets - start.packets;
    const dropped = end.crc - start.crc;

    checks.push({ name: 'server alive', ok: srv.child.exitCode === null, detail: `exit ${srv.child.exitCode}` });
    checks.push({ name: 'load errors', ok: totals.errors === 0, detail: `${totals.errors} failed connections${totals.firstError ? `; first: ${totals.firstError}` : ''}` });
    checks.push({ name: 'heap slope', ok: heapSlope <= LIMITS.heapSlopeMiBPerMin, detail: `${heapSlope.toFixed(3)} MiB/min (limit ${LIMITS.heapSlopeMiBPerMin})` });
    checks.push({ name: 'RSS slope', ok: rssSlope <= LIMITS.rssSlopeMiBPerMin, detail: `${rssSlope.toFixed(3)} MiB/min (limit ${LIMITS.rssSlopeMiBPerMin})` });
    checks.push({ name: 'throughput drift', ok: drift <= LIMITS.throughputDrift, detail: `${(drift * 100).toFixed(1)}% (first half ${firstHalf.toFixed(0)}, second ${secondHalf.toFixed(0)} pkt/s)` });
    checks.push({
      name: 'every frame accounted for',
      ok: delivered + dropped === totals.sent && dropped === totals.corrupted,
      detail: `sent ${totals.sent} = delivered ${delivered} + dropped corrupt ${dropped} (corrupt sent ${totals.corrupted})`,
    });

    srv.child.kill('SIGTERM');
    const exit = await srv.exited;
    checks.push({ name: 'clean exit on SIGTERM', ok: exit.code === 0, detail: `code ${exit.code}` });
    const dataDir = path.join(srv.dir, 'data');
    const files = fs.readdirSync(dataDir).filter((f) => f.startsWith('capture.pkt'));
    const reports = files.map((f) => ({ file: f, ...inspectFile(path.join(dataDir, f), { maxPayloadBytes: 1 << 20, maxHeaderBytes: 4096 }) }));
    const bad = reports.filter((r) => r.firstError !== null);
    checks.push({ name: 'capture files whole', ok: bad.length === 0, detail: `${files.length} files, ${reports.reduce((a, r) => a + r.frames, 0)} frames${bad.length ? `; bad: ${bad.map((r) => r.file).join(', ')}` : ''}` });

    const csv = path.join(srv.dir, 'samples.csv');
    fs.writeFileSync(csv, ['t_s,packets,crc,rss,heap,lag_p99_s,connections,ring_bytes', ...samples.map((s) => [((s.t - t0) / 1000).toFixed(1), s.packets, s.crc, s.rss, s.heap, s.lagP99, s.connections, s.ringBytes].join(','))].join('\n') + '\n');
    const lag = steady.map((s) => s.lagP99 * 1000);
    const report = {
      minutes,
      capacityPps: capacity === null ? null : Math.round(capacity),
      targetPps: rate,
      achievedPps: Math.round(mean(rates.map((r) => r.pps))),
      rounds: totals.rounds,
      sent: totals.sent,
      corrupted: totals.corrupted,
      rss: { startMiB: +(steady[0]?.rss / MiB).toFixed(1), endMiB: +(steady.at(-1)!.rss / MiB).toFixed(1), slopeMiBPerMin: +rssSlope.toFixed(3) },
      heap: { startMiB: +(steady[0]?.heap / MiB).toFixed(1), endMiB: +(steady.at(-1)!.heap / MiB).toFixed(1), slopeMiBPerMin: +heapSlope.toFixed(3) },
      lagP99Ms: { mean: +mean(lag).toFixed(2), max: +Math.max(...lag).toFixed(2) },
      throughputDrift: +drift.toFixed(4),
      checks,
      samples: values.keep ? csv : null,
    };
    if (json) process.stdout.write(`${JSON.stringify(report)}\n`);
    else {
      say(
        [
          `target ${report.targetPps} pkt/s, achieved ${report.achievedPps} pkt/s over ${minutes} min (${totals.rounds} rounds of ${connections} connections)`,
          `RSS ${report.rss.startMiB} -> ${report.rss.endMiB} MiB, heap ${report.heap.startMiB} -> ${report.heap.endMiB} MiB, lag p99 mean ${report.lagP99Ms.mean} ms (max ${report.lagP99Ms.max})`,
          ...checks.map((c) => `${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`),
        ].join('\n'),
      );
    }
  } finally {
    if (srv.child.exitCode === null && srv.child.signalCode === null) {
      srv.child.kill('SIGKILL');
      await srv.exited;
    }
    if (values.keep) say(`soak: kept ${srv.dir}`);
    else fs.rmSync(srv.dir, { recursive: true, force: true });
  }
  return checks.every((c) => c.ok) ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`soak: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
