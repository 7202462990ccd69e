/**
 * `tsx load/http.ts`: what the HTTP side costs the ingest, and what ingest
 * costs the HTTP side. See HELP. stdout: the report only; stderr: one plain
 * line per failure. Exit 0 success, 1 failure, 2 usage error.
 *
 * Every measured phase runs the TCP load generator (runLoad) flat out for the
 * same time; ingest throughput is what the server delivered in that window
 * (its /metrics counters before and after), so client and server agree on
 * it. The server's CPU time in the window (process_cpu_seconds_total) gives
 * packets per CPU second too: unlike throughput, it holds up when other
 * processes take CPU from the server during a run.
 * The compared phases run A B C, C B A, ... over --rounds, which cancels a
 * slow drift of the machine between them. autocannon runs in a worker
 * thread; the server (when started here) in its own process.
 */
import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runLoad } from './lib/run-load.js';

const HELP = `Usage: tsx load/http.ts [options]

Default mode: TCP ingest alone, then TCP ingest while autocannon hammers
GET /healthz, then while it hammers GET /metrics, then each route alone
(no ingest) for reference. Reports req/s and p50/p99 latency per route,
and the ingest throughput (Mpkt/s, GB/s) with and without each HTTP load,
side by side, and the % lost. Each ingest figure also gives the server's
CPU use and packets per CPU second: on a machine shared with other work,
compare those (the "per CPU-s" loss) rather than raw throughput.

  --scrape-cost         instead: ingest alone, then ingest with GET /metrics
                        --scrapes-per-second times a second (default 10);
                        reports both throughputs, their ratio, the % lost,
                        and the server's CPU time per scrape (measured alone)

Server (default: starts \`pkt-ingest serve\` from src/ as a child on loopback,
handlers [] so it only counts)
  --host ADDR           use a running server at ADDR instead (TCP and HTTP)
  --port N              its TCP port (with --host; default 7400)
  --http-port N         its HTTP port (with --host; default 7401)

Load
  --seconds N           seconds per phase (default 10)
  --rounds N            repeat the compared phases, order reversed every other
                        round (default 1)
  --quick               1 s phases, short warm-up: a smoke test of a few seconds
  --connections N       TCP producer connections (default 4)
  --payload BYTES       payload bytes per frame (default 64)
  --http-connections N  autocannon connections per route (default 8)
  --scrapes-per-second N  for --scrape-cost (default 10)

Output
  --json                one JSON object
  -h, --help            this help`;

interface Options {
  mode: 'http' | 'scrape-cost';
  host: string | null;
  port: number;
  httpPort: number;
  seconds: number;
  warmupSeconds: number;
  rounds: number;
  connections: number;
  payload: number;
  httpConnections: number;
  scrapesPerSecond: number;
  json: boolean;
}

class UsageError extends Error {}

function parseOptions(argv: string[]): Options | null {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        'scrape-cost': { type: 'boolean' },
        host: { type: 'string' },
        port: { type: 'string' },
        'http-port': { type: 'string' },
        seconds: { type: 'string' },
        rounds: { type: 'string' },
        quick: { type: 'boolean' },
        connections: { type: 'string' },
        payload: { type: 'string' },
        'http-connections': { type: 'string' },
        'scrapes-per-second': { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (err) {
    throw new UsageError((err as Error).message.split('. ')[0]);
  }
  if (parsed.help) return null;
  const int = (flag: keyof typeof parsed, def: number, min: number, max: number): number => {
    const raw = parsed[flag];
    if (raw === undefined) return def;
    const n = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : NaN;
    if (!(n >= min && n <= max)) throw new UsageError(`--${flag} must be an integer ${min}..${max}, got '${String(raw)}'`);
    return n;
  };
  if (parsed.host === undefined && (parsed.port !== undefined || parsed['http-port'] !== undefined)) {
    throw new UsageError('--port and --http-port need --host (without it a server is started)');
  }
  if (parsed.quick && parsed.seconds !== undefined) throw new UsageError('--quick and --seconds exclude each other');
  const seconds = parsed.quick ? 1 : int('seconds', 10, 1, 3600);
  return {
    mode: parsed['scrape-cost'] ? 'scrape-cost' : 'http',
    host: parsed.host ?? null,
    port: int('port', 7400, 1, 65535),
    httpPort: int('http-port', 7401, 1, 65535),
    seconds,
    warmupSeconds: parsed.quick ? 0.3 : Math.min(2, seconds / 2),
    rounds: int('rounds', 1, 1, 100),
    connections: int('connections', 4, 1, 1000),
    payload: int('payload', 64, 0, 1 << 20),
    httpConnections: int('http-connections', 8, 1, 1000),
    scrapesPerSecond: int('scrapes-per-second', 10, 1, 1000),
    json: parsed.json ?? false,
  };
}

// ---- the server under test

interface Target {
  host: string;
  tcpPort: number;
  httpPort: number;
  /** The child we started, or null for --host. */
  child: ChildProcess | null;
  stop(): Promise<void>;
}

const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));

async function startServer(): Promise<Target> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pkt-http-load-'));
  const config = path.join(dir, 'config.json');
  fs.writeFileSync(
    config,
    JSON.stringify({
      tcp: { host: '127.0.0.1', port: 0 },
      http: { host: '127.0.0.1', port: 0 },
      handlers: [],
      log: { level: 'warn' },
      shutdown: { drainTimeoutMs: 2000 },
    }),
  );
  // Our config only: no PKT_INGEST_* from the caller's environment.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PKT_INGEST_')));
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), CLI, 'serve', '--config', config], {
    cwd: dir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = once(child, 'exit');
  let output = '';
  const keep = (text: string): void => void (output = (output + text).slice(-10_000));
  child.stderr?.on('data', (d: Buffer) => keep(d.toString()));
  const ports = await new Promise<{ tcpPort: number; httpPort: number }>((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      keep(`${line}\n`);
      if (line.includes('"msg":"listening"')) resolve(JSON.parse(line) as { tcpPort: number; httpPort: number });
    });
    void exited.then(([code]) => reject(new Error(`the server exited (${String(code)}) before listening: ${output.trim()}`)));
  });
  return {
    host: '127.0.0.1',
    ...ports,
    child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function httpBase(target: Target): string {
  return `http://${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.httpPort}`;
}

interface Counters {
  packets: number;
  bytes: number;
  cpuSeconds: number;
}

async function counters(target: Target): Promise<Counters> {
  const res = await fetch(`${httpBase(target)}/metrics`);
  if (!res.ok) throw new Error(`GET /metrics answered ${res.status}`);
  const text = await res.text();
  const read = (name: string): number => {
    const value = Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
    if (!Number.isFinite(value)) throw new Error(`GET /metrics has no ${name}`);
    return value;
  };
  return {
    packets: read('pkt_ingest_packets_total'),
    bytes: read('pkt_ingest_bytes_total'),
    cpuSeconds: read('process_cpu_seconds_total'),
  };
}

// ---- measurements

/** What the server delivered while the load generator ran. */
interface Window {
  packets: number;
  bytes: number;
  seconds: number;
  /** The server process's CPU time (user + system) in the window. */
  serverCpuSeconds: number;
  /** Written by the load generator. */
  sentPackets: number;
}

export interface Throughput extends Window {
  mpktPerSec: number;
  /** 10^9 bytes per second. */
  gbPerSec: number;
  /** Cores the server used on average: near 1 when ingest saturates its event loop. */
  serverCores: number;
  /** Million packets per second of server CPU time. */
  mpktPerCpuSecond: number;
}

export interface RouteStats {
  requests: number;
  reqPerSec: number;
  /** autocannon records whole milliseconds; the mean keeps the fraction. */
  meanMs: number;
  /** Request-weighted mean of the rounds' medians. */
  p50Ms: number;
  /** The worst round's p99. */
  p99Ms: number;
  errors: number;
  non2xx: number;
}

const round = (n: number, digits: number): number => Math.round(n * 10 ** digits) / 10 ** digits;

function throughput(windows: Window[]): Throughput {
  const sum = (k: keyof Window): number => windows.reduce((n, w) => n + w[k], 0);
  const seconds = sum('seconds');
  const cpu = sum('serverCpuSeconds');
  return {
    packets: sum('packets'),
    bytes: sum('bytes'),
    seconds: round(seconds, 3),
    serverCpuSeconds: round(cpu, 3),
    sentPackets: sum('sentPackets'),
    mpktPerSec: round(sum('packets') / seconds / 1e6, 4),
    gbPerSec: round(sum('bytes') / seconds / 1e9, 4),
    serverCores: round(cpu / seconds, 3),
    mpktPerCpuSecond: round(cpu > 0 ? sum('packets') / cpu / 1e6 : 0, 4),
  };
}

/** Throughput lost to the extra load, in %; and the same per server CPU second (robust to CPU stolen by others). */
function lost(alone: Throughput, loaded: Throughput): { percent: number; perCpuPercent: number } {
  const loss = (a: number, b: number): number => round(a > 0 ? (1 - b / a) * 100 : 0, 2);
  return {
    percent: loss(alone.mpktPerSec, loaded.mpktPerSec),
    perCpuPercent: loss(alone.mpktPerCpuSecond, loaded.mpktPerCpuSecond),
  };
}

interface Phase<T = unknown> {
  ingest: Window;
  /** What ran alongside the ingest, if anything. */
  http: T;
}

/** Runs the TCP load flat out for `seconds`, `alongside` started with it; the server's delivery in that window. */
async function ingestPhase<T = null>(
  target: Target,
  opts: Options,
  seconds: number,
  alongside: () => Promise<T> = async () => null as T,
): Promise<Phase<T>> {
  const before = await counters(target);
  const start = performance.now();
  const [load, http] = await Promise.all([
    runLoad({
      host: target.host,
      port: target.tcpPort,
      connections: opts.connections,
      durationS: seconds,
      payloadMin: opts.payload,
      payloadMax: opts.payload,
    }),
    alongside(),
  ]);
  const elapsed = (performance.now() - start) / 1000;
  const after = await counters(target);
  if (load.errors > 0) throw new Error(`load generator: ${load.errors} connections failed; first: ${load.firstError}`);
  return {
    ingest: {
      packets: after.packets - before.packets,
      bytes: after.bytes - before.bytes,
      seconds: elapsed,
      serverCpuSeconds: after.cpuSeconds - before.cpuSeconds,
      sentPackets: load.packets,
    },
    http,
  };
}

/**
 * autocannon flat out on one route. It runs in a worker thread: on this
 * thread it would compete with the load generator, and its latencies would
 * include this event loop's lag.
 */
function hammer(target: Target, route: string, seconds: number, connections: number): Promise<autocannon.Result> {
  return autocannon({ url: `${httpBase(target)}${route}`, connections, duration: seconds, workers: 1 });
}

interface Scrapes {
  /** Milliseconds per successful scrape, from request to the last body byte. */
  latencies: number[];
  errors: number;
  seconds: number;
}

/**
 * GET /metrics `rate` times a second for `seconds`, on time even when one
 * is slow (as Prometheus does), over the keep-alive connections of fetch.
 * From this thread: a worker's start-up would cost the ingest more than the
 * scrapes do. Latencies therefore include this event loop's lag.
 */
async function scrapeEvery(target: Target, rate: number, seconds: number): Promise<Scrapes> {
  const url = `${httpBase(target)}/metrics`;
  const latencies: number[] = [];
  let errors = 0;
  const scrape = async (): Promise<void> => {
    const t = performance.now();
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.ok) latencies.push(performance.now() - t);
      else errors++;
    } catch {
      errors++;
    }
  };
  const start = performance.now();
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < Math.round(rate * seconds); i++) {
    await sleep(Math.max(0, start + (i * 1000) / rate - performance.now()));
    inFlight.push(scrape());
  }
  await Promise.all(inFlight);
  return { latencies, errors, seconds: (performance.now() - start) / 1000 };
}

/** The server's CPU time per scrape: `n` scrapes back to back with no ingest (the closing read is one more). */
async function scrapeCpu(target: Target, n: number): Promise<{ scrapes: number; msPerScrape: number }> {
  const before = await counters(target);
  for (let i = 0; i < n; i++) await (await fetch(`${httpBase(target)}/metrics`)).arrayBuffer();
  const after = await counters(target);
  return { scrapes: n, msPerScrape: round(((after.cpuSeconds - before.cpuSeconds) * 1000) / (n + 1), 3) };
}

function scrapeStats(runs: Scrapes[]): RouteStats {
  const sorted = runs.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const at = (p: number): number => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]);
  return {
    requests: sorted.length,
    reqPerSec: round(sorted.length / runs.reduce((n, r) => n + r.seconds, 0), 2),
    meanMs: round(sorted.reduce((n, x) => n + x, 0) / Math.max(1, sorted.length), 3),
    p50Ms: round(at(0.5), 3),
    p99Ms: round(at(0.99), 3),
    errors: runs.reduce((n, r) => n + r.errors, 0),
    non2xx: 0,
  };
}

function routeStats(results: autocannon.Result[]): RouteStats {
  const requests = results.reduce((n, r) => n + r.requests.total, 0);
  const seconds = results.reduce((n, r) => n + r.duration, 0);
  const weighted = (read: (r: autocannon.Result) => number): number =>
    results.reduce((n, r) => n + read(r) * r.requests.total, 0) / Math.max(1, requests);
  return {
    requests,
    reqPerSec: round(requests / seconds, 1),
    meanMs: round(weighted((r) => r.latency.average), 3),
    p50Ms: round(weighted((r) => r.latency.p50), 3),
    p99Ms: Math.max(...results.map((r) => r.latency.p99)),
    errors: results.reduce((n, r) => n + r.errors, 0),
    non2xx: results.reduce((n, r) => n + r.non2xx, 0),
  };
}

const httpOf = <T>(phases: Array<Phase<T | null>>): T[] => phases.map((p) => p.http as T);

/** Runs every phase `count` times, in reverse order every other round; the results per phase. */
async function rounds<T>(count: number, phases: Array<() => Promise<Phase<T>>>): Promise<Array<Array<Phase<T>>>> {
  const results: Array<Array<Phase<T>>> = phases.map(() => []);
  for (let r = 0; r < count; r++) {
    const order = phases.map((_, i) => i);
    if (r % 2 === 1) order.reverse();
    for (const i of order) results[i].push(await phases[i]());
  }
  return results;
}

interface Common {
  server: { host: string; tcpPort: number; httpPort: number; started: boolean };
  phaseSeconds: number;
  rounds: number;
  connections: number;
  payloadBytes: number;
}

interface Routes<T> {
  healthz: T;
  metrics: T;
}

export interface HttpReport extends Common {
  mode: 'http';
  httpConnectionsPerRoute: number;
  ingest: { alone: Throughput; withHttp: Routes<Throughput>; lostPercent: Routes<number>; lostPercentPerCpu: Routes<number> };
  http: { underIngest: Routes<RouteStats>; alone: Routes<RouteStats> };
}

export interface ScrapeCostReport extends Common {
  mode: 'scrape-cost';
  ingest: { alone: Throughput; scraped: Throughput; ratio: number; lostPercent: number; lostPercentPerCpu: number };
  scrapes: RouteStats & { targetPerSecond: number };
  /** Server CPU per scrape, measured with no ingest; × the rate = the share of a core scraping takes. */
  scrapeCpu: { scrapes: number; msPerScrape: number; estimatedLossPercent: number };
}

async function measureHttp(target: Target, opts: Options, common: Common): Promise<HttpReport> {
  const s = opts.seconds;
  const c = opts.httpConnections;
  const [alone, healthz, metrics] = await rounds<autocannon.Result | null>(opts.rounds, [
    () => ingestPhase(target, opts, s),
    () => ingestPhase(target, opts, s, () => hammer(target, '/healthz', s, c)),
    () => ingestPhase(target, opts, s, () => hammer(target, '/metrics', s, c)),
  ]);
  const ingestAlone = throughput(alone.map((p) => p.ingest));
  const withHttp = { healthz: throughput(healthz.map((p) => p.ingest)), metrics: throughput(metrics.map((p) => p.ingest)) };
  const lostTo = { healthz: lost(ingestAlone, withHttp.healthz), metrics: lost(ingestAlone, withHttp.metrics) };
  return {
    mode: 'http',
    ...common,
    httpConnectionsPerRoute: c,
    ingest: {
      alone: ingestAlone,
      withHttp,
      lostPercent: { healthz: lostTo.healthz.percent, metrics: lostTo.metrics.percent },
      lostPercentPerCpu: { healthz: lostTo.healthz.perCpuPercent, metrics: lostTo.metrics.perCpuPercent },
    },
    http: {
      underIngest: {
        healthz: routeStats(httpOf<autocannon.Result>(healthz)),
        metrics: routeStats(httpOf<autocannon.Result>(metrics)),
      },
      // For reference: the same autocannon with no ingest at all.
      alone: {
        healthz: routeStats([await hammer(target, '/healthz', s, c)]),
        metrics: routeStats([await hammer(target, '/metrics', s, c)]),
      },
    },
  };
}

async function measureScrapeCost(target: Target, opts: Options, common: Common): Promise<ScrapeCostReport> {
  const s = opts.seconds;
  const [alone, scraped] = await rounds<Scrapes | null>(opts.rounds, [
    () => ingestPhase(target, opts, s),
    () => ingestPhase(target, opts, s, () => scrapeEvery(target, opts.scrapesPerSecond, s)),
  ]);
  const ingestAlone = throughput(alone.map((p) => p.ingest));
  const ingestScraped = throughput(scraped.map((p) => p.ingest));
  const loss = lost(ingestAlone, ingestScraped);
  const cpu = await scrapeCpu(target, Math.max(100, Math.round(opts.scrapesPerSecond * s)));
  return {
    mode: 'scrape-cost',
    ...common,
    ingest: {
      alone: ingestAlone,
      scraped: ingestScraped,
      ratio: round(ingestScraped.mpktPerSec / ingestAlone.mpktPerSec, 4),
      lostPercent: loss.percent,
      lostPercentPerCpu: loss.perCpuPercent,
    },
    scrapes: { targetPerSecond: opts.scrapesPerSecond, ...scrapeStats(httpOf<Scrapes>(scraped)) },
    scrapeCpu: { ...cpu, estimatedLossPercent: round((cpu.msPerScrape * opts.scrapesPerSecond) / 10, 2) },
  };
}

// ---- output

const fmtThroughput = (t: Throughput): string =>
  `${t.mpktPerSec.toFixed(3)} Mpkt/s  ${t.gbPerSec.toFixed(3)} GB/s  ` +
  `(server ${t.serverCores.toFixed(2)} cores, ${t.mpktPerCpuSecond.toFixed(3)} Mpkt/CPU-s)`;
const fmtLost = (percent: number, perCpu: number): string => `lost ${percent.toFixed(1)} % (per CPU-s ${perCpu.toFixed(1)} %)`;
const fmtRoute = (r: RouteStats): string =>
  `${r.reqPerSec.toFixed(0).padStart(8)} req/s  mean ${r.meanMs.toFixed(2)} ms  p50 ${r.p50Ms} ms  p99 ${r.p99Ms} ms` +
  (r.errors + r.non2xx > 0 ? `  errors ${r.errors} non-2xx ${r.non2xx}` : '');

function formatReport(report: HttpReport | ScrapeCostReport): string {
  const head = [
    `server ${report.server.host} tcp ${report.server.tcpPort} http ${report.server.httpPort}` +
      (report.server.started ? ' (started here)' : ''),
    `${report.rounds} round(s) of ${report.phaseSeconds} s phases, ` +
      `${report.connections} TCP connections, ${report.payloadBytes}-byte payloads`,
    '',
  ];
  if (report.mode === 'http') {
    const { ingest, http } = report;
    const loss = (k: 'healthz' | 'metrics'): string => fmtLost(ingest.lostPercent[k], ingest.lostPercentPerCpu[k]);
    return [
      ...head,
      `ingest alone                 ${fmtThroughput(ingest.alone)}`,
      `ingest, /healthz hammered    ${fmtThroughput(ingest.withHttp.healthz)}  ${loss('healthz')}`,
      `ingest, /metrics hammered    ${fmtThroughput(ingest.withHttp.metrics)}  ${loss('metrics')}`,
      '',
      `autocannon, ${report.httpConnectionsPerRoute} connections`,
      `  /healthz during ingest  ${fmtRoute(http.underIngest.healthz)}`,
      `  /healthz alone          ${fmtRoute(http.alone.healthz)}`,
      `  /metrics during ingest  ${fmtRoute(http.underIngest.metrics)}`,
      `  /metrics alone          ${fmtRoute(http.alone.metrics)}`,
    ].join('\n');
  }
  const { ingest, scrapes, scrapeCpu } = report;
  return [
    ...head,
    `ingest alone            ${fmtThroughput(ingest.alone)}`,
    `ingest, scraped ${String(scrapes.targetPerSecond).padStart(3)}/s   ${fmtThroughput(ingest.scraped)}`,
    `ratio                   ${ingest.ratio.toFixed(4)}  ${fmtLost(ingest.lostPercent, ingest.lostPercentPerCpu)}`,
    `scrapes                 ${fmtRoute(scrapes)}`,
    `server CPU per scrape   ${scrapeCpu.msPerScrape.toFixed(3)} ms (no ingest, ${scrapeCpu.scrapes} scrapes): ` +
      `${scrapeCpu.estimatedLossPercent.toFixed(2)} % of a core at ${scrapes.targetPerSecond}/s`,
  ].join('\n');
}

// ---- main

async function main(argv: string[]): Promise<number> {
  let opts: Options | null;
  try {
    opts = parseOptions(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`load/http: ${err.message} (see --help)\n`);
    return 2;
  }
  if (opts === null) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const target: Target =
    opts.host === null
      ? await startServer()
      : { host: opts.host, tcpPort: opts.port, httpPort: opts.httpPort, child: null, stop: async () => {} };
  const stopOnSignal = (): void => void target.stop().finally(() => process.exit(1));
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);
  try {
    // Warm both sides up (JIT, pools) so the first measured phase is not penalised.
    await ingestPhase(target, opts, opts.warmupSeconds);
    const common: Common = {
      server: { host: target.host, tcpPort: target.tcpPort, httpPort: target.httpPort, started: target.child !== null },
      phaseSeconds: opts.seconds,
      rounds: opts.rounds,
      connections: opts.connections,
      payloadBytes: opts.payload,
    };
    const report = opts.mode === 'http' ? await measureHttp(target, opts, common) : await measureScrapeCost(target, opts, common);
    process.stdout.write(`${opts.json ? JSON.stringify(report) : formatReport(report)}\n`);
    return 0;
  } finally {
    process.off('SIGINT', stopOnSignal);
    process.off('SIGTERM', stopOnSignal);
    await target.stop();
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`load/http: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
