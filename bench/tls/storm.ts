/**
 * The handshake storm: pkt-ingest over TLS (its real CLI, a child process)
 * takes `count` concurrent handshakes from one client process
 * (storm-client.ts) while this process asks GET /healthz back to back.
 *
 *   start server, warm-up storm of 50, settle      -> baseline VmRSS, /healthz latencies at rest
 *   storm of `count` + /healthz loop                -> p50/p99/max latency, handshakes ok/failed
 *   every connection closed, settle                 -> VmRSS after (and VmHWM, the peak), heap used
 *   the same storm again (rounds - 1 times), settle -> VmRSS after each: steady growth means a leak,
 *                                                      a plateau memory kept for reuse (allocator, pools)
 *
 * Every handshake must succeed and deliver its frame (pkt_ingest_packets_total),
 * or the suite fails.
 */
import { execFile, fork, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import readline from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { BenchFailure } from '../lib/suite.js';
import { ROOT } from '../server/children.js';

const run = promisify(execFile);
const MiB = 2 ** 20;

export interface StormResult {
  readonly count: number;
  readonly ok: number;
  readonly stormSeconds: number;
  readonly healthz: { readonly samples: number; readonly p50Ms: number; readonly p99Ms: number; readonly maxMs: number };
  readonly healthzAtRest: { readonly p99Ms: number };
  readonly rssBaselineMiB: number;
  readonly rssPeakMiB: number;
  readonly rssAfterMiB: number;
  /** VmRSS after each further storm (rounds - 1 of them). */
  readonly rssAfterMore: readonly number[];
  /** nodejs_heap_size_used_bytes before the storm and after each, MiB. */
  readonly heapUsedMiB: readonly number[];
  /** What the process itself holds, before the storm and after each (JS heap reserved, external, rings). */
  readonly held: readonly HeldMemory[];
}

/** pkt-ingest's own retention, MiB: V8's reserved heap, memory V8 accounts outside it, connection rings. */
export interface HeldMemory {
  readonly heapTotalMiB: number;
  readonly externalMiB: number;
  readonly ringMiB: number;
}

async function held(httpPort: number): Promise<HeldMemory> {
  const [heapTotal, external, ring] = await Promise.all(
    ['nodejs_heap_size_total_bytes', 'nodejs_external_memory_bytes', 'pkt_ingest_ring_bytes'].map((name) => metric(httpPort, name)),
  );
  return { heapTotalMiB: heapTotal / MiB, externalMiB: external / MiB, ringMiB: ring / MiB };
}

function procStatus(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (m === null) throw new BenchFailure(`no ${field} for pid ${pid}`);
  return (Number(m[1]) * 1024) / MiB;
}

async function metric(httpPort: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const m = new RegExp(`^${name} (\\d+(?:\\.\\d+)?(?:e\\+\\d+)?)$`, 'm').exec(text);
  return m === null ? -1 : Number(m[1]);
}

function quantile(sorted: readonly number[], q: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** GET /healthz back to back until `until` settles; latencies in ms. */
async function pingHealthz(httpPort: number, until: Promise<unknown>): Promise<number[]> {
  let done = false;
  void until.finally(() => (done = true));
  const latencies: number[] = [];
  while (!done) {
    const t = performance.now();
    const res = await fetch(`http://127.0.0.1:${httpPort}/healthz`);
    await res.text();
    if (res.status !== 200) throw new BenchFailure(`/healthz answered ${res.status} during the storm`);
    latencies.push(performance.now() - t);
  }
  return latencies;
}

async function storm(port: number, count: number, caFile: string): Promise<{ ok: number; failed: number; firstError: string | null; seconds: number }> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'bench/tls/storm-client.ts', '--port', String(port), '--count', String(count), '--ca', caFile], { cwd: ROOT });
  return JSON.parse(stdout) as { ok: number; failed: number; firstError: string | null; seconds: number };
}

async function startServer(dir: string, certFile: string, keyFile: string, env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; tcpPort: number; httpPort: number }> {
  const config = {
    tcp: { host: '127.0.0.1', port: 0, tls: { certFile, keyFile }, maxConnections: 5000, maxConnectionsPerAddress: 5000 },
    http: { host: '127.0.0.1', port: 0 },
    log: { level: 'warn' },
    handlers: [],
  };
  const file = join(dir, 'storm-config.json');
  writeFileSync(file, JSON.stringify(config));
  const child = fork('src/cli.ts', ['serve', '--config', file], { cwd: ROOT, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'pipe', 'inherit', 'ipc'], env });
  const lines = readline.createInterface({ input: child.stdout! });
  const ports = await new Promise<{ tcpPort: number; httpPort: number }>((resolve, reject) => {
    child.once('exit', (code) => reject(new BenchFailure(`storm server exited (${code}) before listening`)));
    lines.on('line', (line) => {
      if (line.includes('"msg":"listening"')) resolve(JSON.parse(line) as { tcpPort: number; httpPort: number });
    });
  });
  return { child, ...ports };
}

/** Resolves once the server reports no open connection (bounded). */
async function allClosed(httpPort: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if ((await metric(httpPort, 'pkt_ingest_connections_active')) === 0) return;
    await sleep(50);
  }
  throw new BenchFailure('connections still open 10 s after the storm');
}

/** VmRSS once two readings 1 s apart agree within 1 MiB (at most 10 s): timers, sockets and the GC settle. */
async function settledRss(pid: number): Promise<number> {
  let rss = procStatus(pid, 'VmRSS');
  for (let i = 0; i < 10; i++) {
    await sleep(1000);
    const next = procStatus(pid, 'VmRSS');
    const settled = Math.abs(next - rss) < 1;
    rss = next;
    if (settled) break;
  }
  return rss;
}

export async function runStorm(opts: { count: number; rounds?: number; dir: string; certFile: string; keyFile: string; caFile: string; env?: NodeJS.ProcessEnv; log: (line: string) => void }): Promise<StormResult> {
  const { child, tcpPort, httpPort } = await startServer(opts.dir, opts.certFile, opts.keyFile, opts.env ?? process.env);
  const pid = child.pid as number;
  try {
    const warm = await storm(tcpPort, 50, opts.caFile);
    if (warm.failed > 0) throw new BenchFailure(`warm-up storm: ${warm.failed} handshakes failed: ${warm.firstError}`);
    await allClosed(httpPort);
    await sleep(1000);
    const rest = await pingHealthz(httpPort, sleep(1000));
    const rssBaselineMiB = procStatus(pid, 'VmRSS');
    const heapBefore = (await metric(httpPort, 'nodejs_heap_size_used_bytes')) / MiB;
    const heldMemory = [await held(httpPort)];
    opts.log(`tls storm: baseline RSS ${rssBaselineMiB.toFixed(1)} MiB; ${opts.count} handshakes`);
    const stormDone = storm(tcpPort, opts.count, opts.caFile);
    const [result, latencies] = await Promise.all([stormDone, pingHealthz(httpPort, stormDone)]);
    if (result.failed > 0 || result.ok !== opts.count) throw new BenchFailure(`storm: ${result.failed} of ${opts.count} handshakes failed: ${result.firstError}`);
    await allClosed(httpPort);
    const delivered = await metric(httpPort, 'pkt_ingest_packets_total');
    if (delivered !== opts.count + 50) throw new BenchFailure(`storm: ${delivered} frames delivered, ${opts.count + 50} sent`);
    const rssAfterMiB = await settledRss(pid);
    const heapUsedMiB = [heapBefore, (await metric(httpPort, 'nodejs_heap_size_used_bytes')) / MiB];
    heldMemory.push(await held(httpPort));
    // More storms, unmeasured for latency: RSS after each says whether anything accumulates.
    const rssAfterMore: number[] = [];
    for (let round = 1; round < (opts.rounds ?? 2); round++) {
      const again = await storm(tcpPort, opts.count, opts.caFile);
      if (again.failed > 0) throw new BenchFailure(`storm ${round + 1}: ${again.failed} handshakes failed: ${again.firstError}`);
      await allClosed(httpPort);
      rssAfterMore.push(await settledRss(pid));
      heapUsedMiB.push((await metric(httpPort, 'nodejs_heap_size_used_bytes')) / MiB);
      heldMemory.push(await held(httpPort));
    }
    opts.log(`tls storm: RSS ${[rssBaselineMiB, rssAfterMiB, ...rssAfterMore].map((m) => m.toFixed(1)).join(' -> ')} MiB`);
    const sorted = [...latencies].sort((a, b) => a - b);
    const restSorted = [...rest].sort((a, b) => a - b);
    return {
      count: opts.count,
      ok: result.ok,
      stormSeconds: result.seconds,
      healthz: { samples: sorted.length, p50Ms: quantile(sorted, 0.5), p99Ms: quantile(sorted, 0.99), maxMs: sorted[sorted.length - 1] ?? NaN },
      healthzAtRest: { p99Ms: quantile(restSorted, 0.99) },
      rssBaselineMiB,
      rssPeakMiB: procStatus(pid, 'VmHWM'),
      rssAfterMiB,
      rssAfterMore,
      heapUsedMiB,
      held: heldMemory,
    };
  } finally {
    child.kill('SIGTERM');
  }
}

/**
 * The same storms against the bare Node TLS server (raw-data-sink.ts over
 * TLS): its RSS series, baseline first, says how much of what pkt-ingest
 * keeps after a storm is Node's and OpenSSL's own (allocator, session state).
 */
export async function runBareStorm(opts: { count: number; rounds: number; certFile: string; keyFile: string; caFile: string; env?: NodeJS.ProcessEnv }): Promise<number[]> {
  const child = fork('bench/servers/raw-data-sink.ts', ['--connections', '1'], {
    cwd: ROOT,
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    env: { ...(opts.env ?? process.env), PKT_BENCH_TLS_CERT: opts.certFile, PKT_BENCH_TLS_KEY: opts.keyFile },
  });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.once('exit', (code) => reject(new BenchFailure(`bare TLS server exited (${code}) before listening`)));
      child.on('message', (m: { type?: string; port?: number }) => {
        if (m.type === 'listening' && typeof m.port === 'number') resolve(m.port);
      });
    });
    const pid = child.pid as number;
    await storm(port, 50, opts.caFile);
    const series = [await settledRss(pid)];
    for (let round = 0; round < opts.rounds; round++) {
      const r = await storm(port, opts.count, opts.caFile);
      if (r.failed > 0) throw new BenchFailure(`bare TLS storm: ${r.failed} handshakes failed: ${r.firstError}`);
      series.push(await settledRss(pid));
    }
    return series;
  } finally {
    child.kill('SIGTERM');
  }
}
