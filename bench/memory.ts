/**
 * Memory bench: `tsx bench/memory.ts [--connections N] [--frame-kb K] [--inspect-mb M] [--dist DIR] [--json]`.
 *
 * 1. Idle connections. A child server (`node --expose-gc --import tsx
 *    src/cli.ts serve`, or `node --expose-gc DIR/cli.js serve` with --dist)
 *    with the default capture handler; its RSS (VmRSS of /proc/<pid>/status)
 *    at baseline, with N idle connections open (default 10,000), after each
 *    of them sent one frame (--frame-kb, default 16 KiB of payload) and went
 *    quiet long enough for the sweep to shed their rings, and after they
 *    closed; the per-connection cost. Each point is measured twice: as found
 *    (median of 2 s of samples), and right after a full GC, which a tiny
 *    `module` handler added to the config runs when a control connection
 *    sends it a frame addressed to "pkt-bench-gc" (so retained memory can be
 *    told from garbage not yet collected). The connections come from child
 *    client processes (5,000 each); every child is started through
 *    `bash -c 'ulimit -n 65536; exec ...'` (or the hard limit if that is
 *    lower), so neither this process's fd limit nor the server's is in the
 *    way. Goal: N = 10,000 well under 300 MB.
 *
 * 2. `inspect` of a 1 GiB capture (written to os.tmpdir(), removed after):
 *    frames of mixed sizes (16 B .. 1 MiB payloads, the largest beyond the
 *    1 MiB ring), `inspect FILE --json` as a child with its VmRSS sampled
 *    every 20 ms. Growth = its peak RSS minus the peak RSS of the same
 *    command on an empty file (the start-up baseline: runtime, modules, the
 *    ring). Goal: under 16 MB. Throughput = file bytes over the wall time
 *    beyond that empty-file run (warm page cache: the file was just written).
 *
 * Progress goes to stderr, the report to stdout (text, or one JSON object
 * with --json). Exit 1 if a run gives a wrong answer (inspect miscounts, the
 * server does not hold the connections), 2 on a usage error. A missed goal
 * is reported, not an error.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { Prng } from '../load/lib/prng.js';
import { encodeFrame } from '../src/wire/encode.js';
import { describeEnvironment } from './lib/env.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const SELF = fileURLToPath(import.meta.url);
const CLI = path.join(ROOT, 'src/cli.ts');
const TSX = pathToFileURL(createRequire(path.join(ROOT, 'package.json')).resolve('tsx')).href;

const WANT_FDS = 65536;
const PER_CLIENT = 5000;
/** Connects in flight per client: two clients stay well inside the listen backlog (Node's default 511). */
const CONNECT_BATCH = 100;
const IDLE_GOAL_MB = 300;
const INSPECT_GROWTH_GOAL_MB = 16;
const MB = 1024 * 1024;
const KB = 1024;

const USAGE = `usage: tsx bench/memory.ts [--connections N] [--frame-kb K] [--inspect-mb M] [--dist DIR] [--json]

  --connections N   idle connections to hold open (default 10000; 0 skips that part)
  --frame-kb K      payload of the one frame each connection sends after the idle point (default 16)
  --inspect-mb M    size of the capture for inspect, MiB (default 1024; 0 skips that part)
  --dist DIR        run the compiled server (DIR/cli.js) instead of src/cli.ts through tsx
  --json            print one JSON object instead of text
  --help            this text`;

const progress = (line: string): void => void process.stderr.write(`[memory] ${line}\n`);

// ---------------------------------------------------------------- /proc

interface ProcMemory {
  /** VmRSS, bytes. */
  rss: number;
  /** VmHWM (peak RSS so far), bytes. */
  hwm: number;
  anon: number;
  file: number;
}

/** The memory lines of /proc/<pid>/status, or null once the process is gone. */
function procMemory(pid: number): ProcMemory | null {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const kb = (key: string): number => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) * KB : NaN;
  };
  const rss = kb('VmRSS');
  // A zombie (exited, not yet reaped) has no VmRSS line.
  if (Number.isNaN(rss)) return null;
  return { rss, hwm: kb('VmHWM'), anon: kb('RssAnon'), file: kb('RssFile') };
}

/** Soft and hard "Max open files" of a process. */
function fdLimits(pid: number | 'self'): { soft: number; hard: number } {
  const text = fs.readFileSync(`/proc/${pid}/limits`, 'utf8');
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(text);
  const num = (s: string | undefined) => (s === undefined || s === 'unlimited' ? Infinity : Number(s));
  return { soft: num(m?.[1]), hard: num(m?.[2]) };
}

/** Median of the RSS sampled every 100 ms for `ms`. */
async function steadyRss(pid: number, ms = 2000): Promise<ProcMemory> {
  const samples: ProcMemory[] = [];
  for (let t = 0; t < ms; t += 100) {
    const m = procMemory(pid);
    if (m === null) throw new Error(`process ${pid} is gone`);
    samples.push(m);
    await sleep(100);
  }
  samples.sort((a, b) => a.rss - b.rss);
  return samples[samples.length >> 1];
}

// ---------------------------------------------------------------- children

/** argv that runs `argv` with the fd soft limit raised to WANT_FDS (or the hard limit). */
function withFdLimit(argv: string[]): [string, string[]] {
  const script = `ulimit -n ${WANT_FDS} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"`;
  return ['bash', ['-c', script, 'pkt-bench', ...argv]];
}

function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PKT_INGEST_')) env[k] = v;
  return env;
}

const children = new Set<ChildProcess>();
function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}
const tempPaths: string[] = [];
function cleanup(): void {
  for (const child of children) child.kill('SIGKILL');
  for (const p of tempPaths) fs.rmSync(p, { recursive: true, force: true });
}
process.once('SIGINT', () => {
  cleanup();
  process.exit(130);
});

/** A child's stdout as JSON objects, awaited one by one (non-JSON lines are skipped). */
class JsonLines {
  private readonly queue: Array<Record<string, unknown>> = [];
  private waiter: ((v: Record<string, unknown>) => void) | null = null;
  readonly tail: string[] = [];
  constructor(
    stream: NodeJS.ReadableStream,
    private readonly exited: Promise<unknown>,
  ) {
    readline.createInterface({ input: stream }).on('line', (line) => {
      this.tail.push(line);
      if (this.tail.length > 20) this.tail.shift();
      let obj: Record<string, unknown>;
      try {
        obj = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = null;
        w(obj);
      } else this.queue.push(obj);
    });
  }
  /** The next object for which `match` holds (others are dropped). */
  async next(match: (o: Record<string, unknown>) => boolean, what: string): Promise<Record<string, unknown>> {
    for (;;) {
      const obj =
        this.queue.shift() ??
        (await Promise.race([
          new Promise<Record<string, unknown>>((resolve) => (this.waiter = resolve)),
          this.exited.then(() => {
            throw new Error(`child exited while waiting for ${what}: ${this.tail.join('\n')}`);
          }),
        ]));
      if (match(obj)) return obj;
    }
  }
}

interface ServerChild {
  child: ChildProcess;
  pid: number;
  tcpPort: number;
  httpPort: number;
  command: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const GC_DEST = 'pkt-bench-gc';
/**
 * A module handler that runs a full GC when a frame for GC_DEST arrives (the
 * server runs with --expose-gc), and another one a little later: V8 counts
 * the array buffers one GC freed (the external memory figure) only at the next.
 */
const GC_HANDLER = `export default () => ({
  onPacket(packet) {
    if (packet.destId !== '${GC_DEST}' || typeof globalThis.gc !== 'function') return;
    globalThis.gc();
    setTimeout(() => globalThis.gc(), 250);
  },
});
`;

async function startServer(dir: string, connections: number, dist: string | null): Promise<ServerChild> {
  const config = path.join(dir, 'config.json');
  fs.writeFileSync(path.join(dir, 'gc-handler.mjs'), GC_HANDLER);
  fs.writeFileSync(
    config,
    JSON.stringify({
      tcp: {
        host: '127.0.0.1',
        port: 0,
        maxConnections: connections + 100,
        maxConnectionsPerAddress: connections + 100,
        idleTimeoutMs: 0,
      },
      http: { host: '127.0.0.1', port: 0 },
      handlers: [
        { type: 'capture', path: 'data/capture.pkt' },
        { type: 'module', name: 'bench-gc', path: 'gc-handler.mjs' },
      ],
      log: { level: 'info' },
    }),
  );
  const nodeArgs = dist === null ? ['--import', TSX, CLI] : [path.join(dist, 'cli.js')];
  const [cmd, args] = withFdLimit([process.execPath, '--expose-gc', ...nodeArgs, 'serve', '--config', config]);
  const child = track(spawn(cmd, args, { cwd: dir, env: cleanEnv(), stdio: ['ignore', 'pipe', 'inherit'] }));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  // Always read stdout: a full pipe would stall the server's logger.
  const lines = new JsonLines(child.stdout!, exited);
  const listening = await lines.next((o) => o.msg === 'listening', 'the listening line');
  return {
    child,
    pid: child.pid!,
    tcpPort: listening.tcpPort as number,
    httpPort: listening.httpPort as number,
    command: dist === null ? 'node --expose-gc --import tsx src/cli.ts serve' : `node --expose-gc ${path.join(dist, 'cli.js')} serve`,
    exited,
  };
}

/** Unlabelled samples of a Prometheus exposition. */
async function scrape(httpPort: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*) (\S+)$/.exec(line);
    if (m) out.set(m[1], Number(m[2]));
  }
  return out;
}

async function waitForMetric(httpPort: number, name: string, value: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = NaN;
  while (Date.now() < deadline) {
    last = (await scrape(httpPort)).get(name) ?? NaN;
    if (last === value) return;
    await sleep(200);
  }
  throw new Error(`${name} stayed at ${last}, expected ${value}`);
}

class Client {
  readonly lines: JsonLines;
  constructor(readonly child: ChildProcess) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    this.lines = new JsonLines(child.stdout!, exited);
  }
  static start(port: number, count: number, frameBytes: number): Client {
    const [cmd, args] = withFdLimit([
      process.execPath,
      '--import',
      TSX,
      SELF,
      '--client-port',
      String(port),
      '--client-count',
      String(count),
      '--client-frame-bytes',
      String(frameBytes),
    ]);
    return new Client(track(spawn(cmd, args, { cwd: ROOT, env: cleanEnv(), stdio: ['pipe', 'pipe', 'inherit'] })));
  }
  async command(cmd: 'send' | 'close', event: string): Promise<Record<string, unknown>> {
    this.child.stdin!.write(`${cmd}\n`);
    return this.lines.next((o) => o.event === event, event);
  }
}

// ---------------------------------------------------------------- client mode

/** Runs in a client child: holds `count` connections, obeys `send` and `close` on stdin. */
async function clientMain(port: number, count: number, frameBytes: number): Promise<void> {
  const out = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);
  const frame = encodeFrame({ sourceId: 'memory-bench', destId: 'idle', payload: Buffer.alloc(frameBytes, 0x5a) });
  const sockets: net.Socket[] = [];
  let failed = 0;
  let firstError = '';
  for (let i = 0; i < count; i += CONNECT_BATCH) {
    const n = Math.min(CONNECT_BATCH, count - i);
    await Promise.all(
      Array.from(
        { length: n },
        () =>
          new Promise<void>((resolve) => {
            const s = net.connect({ port, host: '127.0.0.1' });
            let settled = false;
            s.on('error', (err) => {
              if (settled) return;
              settled = true;
              failed++;
              firstError ||= (err as NodeJS.ErrnoException).code ?? err.message;
              resolve();
            });
            s.once('connect', () => {
              settled = true;
              sockets.push(s);
              resolve();
            });
          }),
      ),
    );
  }
  out({ event: 'connected', open: sockets.length, failed, firstError, fdLimit: fdLimits('self').soft });
  for await (const line of readline.createInterface({ input: process.stdin })) {
    if (line === 'send') {
      for (const s of sockets) s.write(frame);
      out({ event: 'sent', count: sockets.length, bytes: frame.length });
    } else if (line === 'close') {
      for (const s of sockets) s.destroy();
      out({ event: 'closed' });
    }
  }
  process.exit(0);
}

// ---------------------------------------------------------------- part 1: idle connections

interface Memory {
  rssBytes: number;
  anonBytes: number;
  heapUsedBytes: number;
  externalBytes: number;
}

/** One point: as found, and right after a full GC. */
interface Point {
  found: Memory;
  afterGc: Memory;
}

interface IdleReport {
  server: string;
  connections: number;
  frameBytes: number;
  fdLimit: { bench: { soft: number; hard: number }; server: number; clients: number[] };
  connectSeconds: number;
  baseline: Point;
  idle: Point;
  /** (idle - baseline) / connections, after GC. */
  perConnection: { rssBytes: number; heapBytes: number; externalBytes: number };
  afterOneFrameEach: Point;
  afterClose: Point;
  goalMb: number;
  pass: boolean;
}

/** The control connection: asks the server for a full GC. */
class GcControl {
  private readonly frame = encodeFrame({ sourceId: 'memory-bench', destId: GC_DEST, payload: Buffer.alloc(0) });
  constructor(
    private readonly socket: net.Socket,
    private readonly srv: ServerChild,
  ) {}
  static async open(srv: ServerChild): Promise<GcControl> {
    const socket = net.connect(srv.tcpPort, '127.0.0.1');
    await once(socket, 'connect');
    return new GcControl(socket, srv);
  }
  async collect(): Promise<void> {
    const before = (await scrape(this.srv.httpPort)).get('pkt_ingest_packets_total') ?? 0;
    this.socket.write(this.frame);
    await waitForMetric(this.srv.httpPort, 'pkt_ingest_packets_total', before + 1);
    // The second GC runs 250 ms later (see GC_HANDLER).
    await sleep(750);
  }
  close(): void {
    this.socket.destroy();
  }
}

async function memory(srv: ServerChild, ms: number): Promise<Memory> {
  const mem = await steadyRss(srv.pid, ms);
  const m = await scrape(srv.httpPort);
  return {
    rssBytes: mem.rss,
    anonBytes: mem.anon,
    heapUsedBytes: m.get('nodejs_heap_size_used_bytes') ?? NaN,
    externalBytes: m.get('nodejs_external_memory_bytes') ?? NaN,
  };
}

async function point(srv: ServerChild, gc: GcControl, label: string): Promise<Point> {
  const found = await memory(srv, 2000);
  await gc.collect();
  const afterGc = await memory(srv, 1000);
  progress(`${label}: RSS ${mb(found.rssBytes)}, after GC ${mb(afterGc.rssBytes)} (external ${mb(afterGc.externalBytes)})`);
  return { found, afterGc };
}

async function idleConnections(n: number, frameBytes: number, dist: string | null): Promise<IdleReport> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pkt-memory-'));
  tempPaths.push(dir);
  const srv = await startServer(dir, n, dist);
  const serverFds = fdLimits(srv.pid).soft;
  progress(`server ${srv.command} pid ${srv.pid}, tcp ${srv.tcpPort}, http ${srv.httpPort}, fd limit ${serverFds}`);
  if (serverFds < n + 100) throw new Error(`the server's fd limit ${serverFds} is below ${n + 100}: raise the hard limit (ulimit -Hn)`);
  const gc = await GcControl.open(srv);
  const active = (k: number) => waitForMetric(srv.httpPort, 'pkt_ingest_connections_active', k + 1); // + the control connection

  // Warm-up: the accept, read, shed and metrics paths run once before the baseline.
  const warm = Client.start(srv.tcpPort, 20, frameBytes);
  await warm.lines.next((o) => o.event === 'connected', 'warm-up connections');
  await warm.command('send', 'sent');
  await warm.command('close', 'closed');
  warm.child.stdin!.end();
  await active(0);
  await sleep(2500);
  const baseline = await point(srv, gc, 'baseline');

  const t0 = performance.now();
  const clients: Client[] = [];
  for (let left = n; left > 0; left -= PER_CLIENT) clients.push(Client.start(srv.tcpPort, Math.min(PER_CLIENT, left), frameBytes));
  const connected = await Promise.all(clients.map((c) => c.lines.next((o) => o.event === 'connected', 'connections')));
  const open = connected.reduce((sum, o) => sum + (o.open as number), 0);
  if (open !== n) throw new Error(`only ${open} of ${n} connections opened: ${JSON.stringify(connected)}`);
  await active(n).catch((err: Error) => {
    // Connects the client saw complete but the server never accepted: an overflowed listen backlog (syncookies).
    throw new Error(`${err.message}; the listen backlog may have overflowed (nstat TcpExtListenOverflows, TcpExtSyncookiesSent)`);
  });
  const connectSeconds = (performance.now() - t0) / 1000;
  progress(`${n} connections open in ${connectSeconds.toFixed(1)} s`);
  await sleep(1000);
  const idle = await point(srv, gc, `${n} idle connections`);

  // One frame on each, then quiet: each takes a ring on its first read; the sweep sheds it after 1 s quiet.
  const packets = (await scrape(srv.httpPort)).get('pkt_ingest_packets_total') ?? 0;
  for (const c of clients) await c.command('send', 'sent');
  await waitForMetric(srv.httpPort, 'pkt_ingest_packets_total', packets + n);
  await sleep(3000);
  const afterOneFrameEach = await point(srv, gc, 'after one frame each, quiet');

  for (const c of clients) await c.command('close', 'closed');
  await active(0);
  await sleep(1000);
  const afterClose = await point(srv, gc, 'after they closed');
  for (const c of clients) c.child.stdin!.end();
  gc.close();

  srv.child.kill('SIGTERM');
  const { code } = await srv.exited;
  if (code !== 0) throw new Error(`server exited ${code} after SIGTERM`);

  const per = (k: keyof Memory) => (idle.afterGc[k] - baseline.afterGc[k]) / n;
  return {
    server: srv.command,
    connections: n,
    frameBytes,
    fdLimit: { bench: fdLimits('self'), server: serverFds, clients: connected.map((o) => o.fdLimit as number) },
    connectSeconds,
    baseline,
    idle,
    perConnection: { rssBytes: per('rssBytes'), heapBytes: per('heapUsedBytes'), externalBytes: per('externalBytes') },
    afterOneFrameEach,
    afterClose,
    goalMb: IDLE_GOAL_MB,
    pass: Math.max(idle.found.rssBytes, idle.afterGc.rssBytes) < IDLE_GOAL_MB * MB,
  };
}

// ---------------------------------------------------------------- part 2: inspect

/** One shuffled block of frames; the file repeats it. Payload sizes per block, in four bands. */
const MIX = [
  { band: '16 B..1 KiB', count: 1024, min: 16, max: 1024 },
  { band: '1..16 KiB', count: 256, min: 1024, max: 16 * KB },
  { band: '16..256 KiB', count: 32, min: 16 * KB, max: 256 * KB },
  { band: '1 MiB (the payload limit; the frame is larger than the 1 MiB ring)', count: 1, min: MB, max: MB },
] as const;

interface Capture {
  file: string;
  bytes: number;
  frames: number;
  bands: Array<{ band: string; frames: number }>;
  seconds: number;
}

function writeCapture(file: string, target: number): Capture {
  const t0 = performance.now();
  const rand = new Prng(0x706b74);
  const frames: Array<{ buf: Buffer; band: number }> = [];
  let k = 0;
  MIX.forEach((m, band) => {
    for (let i = 0; i < m.count; i++, k++) {
      const size = rand.int(m.min, m.max);
      const payload = Buffer.alloc(Math.min(size, MB), k & 0xff);
      frames.push({ buf: encodeFrame({ sourceId: `sensor-${k % 97}`, destId: 'memory-bench', payload, timestamp: 1_700_000_000_000_000 + k }), band });
    }
  });
  for (let i = frames.length - 1; i > 0; i--) {
    const j = rand.int(0, i);
    [frames[i], frames[j]] = [frames[j], frames[i]];
  }
  const block = Buffer.concat(frames.map((f) => f.buf));
  const perBand = MIX.map(() => 0);
  let bytes = 0;
  let count = 0;
  const fd = fs.openSync(file, 'w');
  try {
    while (bytes + block.length <= target) {
      fs.writeSync(fd, block);
      bytes += block.length;
      count += frames.length;
      for (const f of frames) perBand[f.band]++;
    }
    for (const f of frames) {
      if (bytes + f.buf.length > target) break;
      fs.writeSync(fd, f.buf);
      bytes += f.buf.length;
      count++;
      perBand[f.band]++;
    }
  } finally {
    fs.closeSync(fd);
  }
  return {
    file,
    bytes,
    frames: count,
    bands: MIX.map((m, i) => ({ band: m.band, frames: perBand[i] })),
    seconds: (performance.now() - t0) / 1000,
  };
}

interface InspectRun {
  code: number | null;
  seconds: number;
  /** Peak VmRSS (the larger of the sampled VmRSS and VmHWM). */
  peakRss: number;
  peakAnon: number;
  samples: Array<[ms: number, rss: number]>;
  report: { frames: number; bytes: number; errors: Record<string, number>; firstError: unknown; torn: unknown };
}

async function runInspect(file: string, dist: string | null): Promise<InspectRun> {
  const nodeArgs = dist === null ? ['--import', TSX, CLI] : [path.join(dist, 'cli.js')];
  const t0 = performance.now();
  const child = track(
    spawn(process.execPath, [...nodeArgs, 'inspect', file, '--json'], { cwd: ROOT, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] }),
  );
  const pid = child.pid!;
  const samples: Array<[number, number]> = [];
  let peak = 0;
  let peakAnon = 0;
  const sample = (): void => {
    const m = procMemory(pid);
    if (m === null) return;
    samples.push([Math.round(performance.now() - t0), m.rss]);
    peak = Math.max(peak, m.rss, m.hwm);
    peakAnon = Math.max(peakAnon, m.anon);
  };
  sample();
  const timer = setInterval(sample, 20);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(timer);
  let report: InspectRun['report'];
  try {
    report = JSON.parse(stdout) as InspectRun['report'];
  } catch {
    throw new Error(`inspect ${file} exited ${code} without a JSON report: ${stderr}${stdout}`);
  }
  return { code, seconds, peakRss: peak, peakAnon, samples, report };
}

interface InspectReport {
  command: string;
  capture: Omit<Capture, 'file'>;
  /** The same command on an empty file: medians of BASELINE_RUNS runs. */
  baseline: { peakRssBytes: number; peakAnonBytes: number; seconds: number; runs: number };
  run: { peakRssBytes: number; peakAnonBytes: number; seconds: number; samples: number; scanRssAtQuarters: number[] };
  growthBytes: number;
  anonGrowthBytes: number;
  throughputGBps: number;
  goalMb: number;
  pass: boolean;
}

const BASELINE_RUNS = 3;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];

async function inspectCapture(mib: number, dist: string | null): Promise<InspectReport> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pkt-memory-inspect-'));
  tempPaths.push(dir);
  try {
    const empty = path.join(dir, 'empty.pkt');
    fs.writeFileSync(empty, '');
    await runInspect(empty, dist); // warm the transform cache and the page cache of the modules
    const bases: InspectRun[] = [];
    for (let i = 0; i < BASELINE_RUNS; i++) {
      const base = await runInspect(empty, dist);
      if (base.code !== 0 || base.report.frames !== 0) throw new Error(`inspect of an empty file: exit ${base.code}, ${JSON.stringify(base.report)}`);
      bases.push(base);
    }
    const baseline = {
      peakRssBytes: median(bases.map((b) => b.peakRss)),
      peakAnonBytes: median(bases.map((b) => b.peakAnon)),
      seconds: median(bases.map((b) => b.seconds)),
      runs: BASELINE_RUNS,
    };
    progress(
      `inspect start-up baseline (empty file, median of ${BASELINE_RUNS}): peak RSS ${mb(baseline.peakRssBytes)}` +
        ` (runs: ${bases.map((b) => mb(b.peakRss)).join(', ')}), ${baseline.seconds.toFixed(2)} s`,
    );

    progress(`writing a ${mib} MiB capture in ${dir}`);
    const capture = writeCapture(path.join(dir, 'capture.pkt'), mib * MB);
    progress(`${capture.frames} frames, ${capture.bytes} bytes in ${capture.seconds.toFixed(1)} s`);

    const run = await runInspect(capture.file, dist);
    const r = run.report;
    if (run.code !== 0 || r.frames !== capture.frames || r.bytes !== capture.bytes || r.firstError !== null) {
      throw new Error(`inspect miscounted: exit ${run.code}, ${JSON.stringify(r)}; wrote ${capture.frames} frames, ${capture.bytes} bytes`);
    }
    // RSS through the scan (after the empty-file run's duration, i.e. start-up), at its quarters.
    const scan = run.samples.filter(([ms]) => ms >= baseline.seconds * 1000);
    const quarters = [0.25, 0.5, 0.75, 1].map((q) => scan[Math.min(scan.length - 1, Math.floor(q * (scan.length - 1)))]?.[1] ?? NaN);
    const growth = run.peakRss - baseline.peakRssBytes;
    const { file: _file, ...captureInfo } = capture;
    progress(`inspect: peak RSS ${mb(run.peakRss)}, ${run.seconds.toFixed(2)} s`);
    return {
      command: dist === null ? 'node --import tsx src/cli.ts inspect FILE --json' : `node ${path.join(dist, 'cli.js')} inspect FILE --json`,
      capture: captureInfo,
      baseline,
      run: {
        peakRssBytes: run.peakRss,
        peakAnonBytes: run.peakAnon,
        seconds: run.seconds,
        samples: run.samples.length,
        scanRssAtQuarters: quarters,
      },
      growthBytes: growth,
      anonGrowthBytes: run.peakAnon - baseline.peakAnonBytes,
      throughputGBps: capture.bytes / 1e9 / Math.max(1e-3, run.seconds - baseline.seconds),
      goalMb: INSPECT_GROWTH_GOAL_MB,
      pass: growth < INSPECT_GROWTH_GOAL_MB * MB,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- report

const mb = (bytes: number): string => `${(bytes / MB).toFixed(1)} MB`;
const signedMb = (bytes: number): string => `${bytes >= 0 ? '+' : ''}${(bytes / MB).toFixed(1)} MB`;
const memLine = (m: Memory): string =>
  `${mb(m.rssBytes).padStart(9)} (anon ${mb(m.anonBytes)}, V8 heap used ${mb(m.heapUsedBytes)}, external ${mb(m.externalBytes)})`;
const pointLines = (label: string, p: Point): string[] => [
  `  ${label.padEnd(34)}${memLine(p.found)}`,
  `  ${'  after a full GC'.padEnd(34)}${memLine(p.afterGc)}`,
];

function text(env: string, idle: IdleReport | null, insp: InspectReport | null): string {
  const out = [`pkt-ingest memory bench\n${env}`];
  if (idle) {
    const f = idle.fdLimit;
    const per = idle.perConnection;
    out.push(
      [
        `\nIdle connections: ${idle.server}, default capture handler (+ the bench's GC hook), idleTimeoutMs 0`,
        `  fd limits: this process ${f.bench.soft}/${f.bench.hard} (soft/hard); server ${f.server}; clients ${f.clients.join(', ')}`,
        ...pointLines('baseline (after a warm-up)', idle.baseline),
        ...pointLines(`${idle.connections} idle connections`, idle.idle),
        `    per connection (after GC)       ${(per.rssBytes / KB).toFixed(2)} KB RSS` +
          ` (V8 heap ${(per.heapBytes / KB).toFixed(2)} KB, external ${(per.externalBytes / KB).toFixed(2)} KB)`,
        `    opened in                       ${idle.connectSeconds.toFixed(1)} s`,
        `    goal < ${idle.goalMb} MB                    ${idle.pass ? 'PASS' : 'FAIL'}`,
        ...pointLines(`after one ${(idle.frameBytes / KB).toFixed(0)} KiB frame each, quiet 3 s`, idle.afterOneFrameEach),
        ...pointLines('after they closed', idle.afterClose),
      ].join('\n'),
    );
  }
  if (insp) {
    const c = insp.capture;
    out.push(
      [
        `\ninspect: ${insp.command}`,
        `  capture: ${(c.bytes / 1e9).toFixed(3)} GB, ${c.frames} frames (${c.bands.map((b) => `${b.frames} x ${b.band}`).join('; ')})`,
        `  start-up baseline (empty file, median of ${insp.baseline.runs})  peak RSS ${mb(insp.baseline.peakRssBytes)}` +
          ` (anon ${mb(insp.baseline.peakAnonBytes)}), ${insp.baseline.seconds.toFixed(2)} s`,
        `  the capture                              peak RSS ${mb(insp.run.peakRssBytes)} (anon ${mb(insp.run.peakAnonBytes)}),` +
          ` ${insp.run.seconds.toFixed(2)} s, ${insp.run.samples} samples every 20 ms`,
        `    RSS at 25/50/75/100% of the scan  ${insp.run.scanRssAtQuarters.map(mb).join(' / ')}`,
        `    RSS growth                      ${signedMb(insp.growthBytes)} (anon ${signedMb(insp.anonGrowthBytes)})` +
          `  goal < ${insp.goalMb} MB  ${insp.pass ? 'PASS' : 'FAIL'}`,
        `    throughput                      ${insp.throughputGBps.toFixed(2)} GB/s (file bytes over wall time minus start-up; warm page cache)`,
      ].join('\n'),
    );
  }
  return out.join('\n');
}

async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        connections: { type: 'string', default: '10000' },
        'inspect-mb': { type: 'string', default: '1024' },
        dist: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
        'client-port': { type: 'string' },
        'client-count': { type: 'string' },
        'client-frame-bytes': { type: 'string', default: '64' },
        'frame-kb': { type: 'string', default: '16' },
      },
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (values['client-port'] !== undefined) {
    await clientMain(Number(values['client-port']), Number(values['client-count']), Number(values['client-frame-bytes']));
    return 0;
  }
  const connections = Number(values.connections);
  const inspectMb = Number(values['inspect-mb']);
  const frameKb = Number(values['frame-kb']);
  if ([connections, inspectMb, frameKb].some((v) => !Number.isInteger(v) || v < 0) || frameKb > 1024) {
    process.stderr.write(`--connections, --frame-kb (up to 1024) and --inspect-mb take a whole number >= 0\n\n${USAGE}\n`);
    return 2;
  }
  const dist = values.dist === undefined ? null : path.resolve(values.dist);
  if (dist !== null && !fs.existsSync(path.join(dist, 'cli.js'))) {
    process.stderr.write(`--dist: ${path.join(dist, 'cli.js')} not found (build it with: npx tsc -p tsconfig.build.json --outDir DIR)\n`);
    return 2;
  }

  const own = fdLimits('self');
  progress(`ulimit -n here: soft ${own.soft}, hard ${own.hard}; children are started with ulimit -n ${WANT_FDS} (or the hard limit)`);
  const env = describeEnvironment();
  try {
    const idle = connections > 0 ? await idleConnections(connections, Math.min(frameKb * KB, MB), dist) : null;
    const insp = inspectMb > 0 ? await inspectCapture(inspectMb, dist) : null;
    if (values.json) process.stdout.write(`${JSON.stringify({ environment: env, idleConnections: idle, inspect: insp }, null, 2)}\n`);
    else {
      const machine = `Node ${env.node} (V8 ${env.v8}), ${env.cpu} x${env.cores}, load average ${env.loadAverage.join(' ')}`;
      process.stdout.write(`${text(machine, idle, insp)}\n`);
    }
    return 0;
  } catch (err) {
    process.stderr.write(`memory bench failed: ${(err as Error).message}\n`);
    return 1;
  } finally {
    cleanup();
  }
}

process.exitCode = await main(process.argv.slice(2));
