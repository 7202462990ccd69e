/**
 * One load run: connect every connection, then offer pre-generated frames (or
 * a capture file's bytes) as fast as the sockets take them, or paced to a
 * target rate, and report what was written.
 *
 * Each connection cycles the shared frame pool from its start, so with
 * --corrupt-every K exactly every K-th frame on a connection is corrupt (the
 * pool holds a multiple of K frames).
 */
import { createReadStream } from 'node:fs';
import type net from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Flags } from '../../src/wire/constants.js';
import { AckTracker, quantile } from './ack-tracker.js';
import { FrameCounter } from './frame-counter.js';
import { generateFramePool, type FramePool } from './frame-pool.js';
import { Pacer } from './pacer.js';
import { PoolCursor } from './pool-cursor.js';
import { makeReport, type LoadProgress, type LoadReport } from './report.js';
import type { ClientTlsOptions } from '../../src/producer/connect.js';
import { connectTo, finish, waitDrain, whenClosed } from './socket-io.js';

export interface LoadOptions {
  host: string;
  port: number;
  connections: number;
  /** Total frames over all connections. Give packets or durationS; neither with replay. */
  packets?: number;
  durationS?: number;
  payloadMin: number;
  payloadMax: number;
  sourceLen: number;
  destLen: number;
  /** Target packets/s over all connections, evenly paced; 0 = as fast as possible. */
  rate: number;
  seed: number;
  /** Every K-th frame of a connection gets a wrong checksum; 0 = none. */
  corruptEvery: number;
  /** Send this file's bytes as they are, once per connection, instead of generated frames. */
  replay?: string;
  /** Connect over TLS (the server's tcp.tls). */
  tls?: ClientTlsOptions;
  /** Set ACK_REQUEST on every frame, read the server's ACKs, wait for them at the end and report them. */
  acks?: boolean;
  /** Called every progressIntervalMs with running totals. */
  onProgress?: (progress: LoadProgress) => void;
  progressIntervalMs?: number;
}

export const LOAD_DEFAULTS = {
  host: '127.0.0.1',
  port: 7400,
  connections: 1,
  payloadMin: 64,
  payloadMax: 64,
  sourceLen: 8,
  destLen: 8,
  rate: 0,
  seed: 1,
  corruptEvery: 0,
} as const;

/** Run length when neither packets nor durationS is given. */
export const DEFAULT_DURATION_S = 10;

/** Bytes per socket write: large enough that syscalls stay cheap, small enough to interleave connections. */
export const BATCH_BYTES = 256 * 1024;
/** How much pre-generated traffic to cycle: variety without a long start-up. */
const POOL_TARGET_BYTES = 8 * 1024 * 1024;
const POOL_MAX_FRAMES = 65_536;
const CONNECT_TIMEOUT_MS = 10_000;
const LINGER_MS = 2_000;
const REPLAY_READ_BYTES = 64 * 1024;
/** --acks: how long to wait at the end for the last ACKs. */
const ACK_WAIT_MS = 10_000;

interface Totals extends LoadProgress {
  corrupted: number;
  firstError: string | null;
  acked: number;
}

/** Frames to pre-generate: about POOL_TARGET_BYTES, no more than needed, a multiple of corruptEvery. */
export function poolFrameCount(options: LoadOptions): number {
  const average = 26 + options.sourceLen + options.destLen + (options.payloadMin + options.payloadMax) / 2;
  let count = Math.max(1, Math.min(POOL_MAX_FRAMES, Math.floor(POOL_TARGET_BYTES / average)));
  if (options.packets !== undefined) count = Math.max(1, Math.min(count, options.packets));
  const k = options.corruptEvery;
  return k > 0 ? Math.ceil(count / k) * k : count;
}

/** Fills in LOAD_DEFAULTS for missing (or undefined) fields; with no limit at all, runs DEFAULT_DURATION_S. */
export function withDefaults(input: Partial<LoadOptions>): LoadOptions {
  const options: LoadOptions = { ...LOAD_DEFAULTS };
  for (const [key, value] of Object.entries(input)) if (value !== undefined) Object.assign(options, { [key]: value });
  if (options.packets === undefined && options.durationS === undefined && options.replay === undefined) {
    options.durationS = DEFAULT_DURATION_S;
  }
  return options;
}

/** Splits `total` into `parts` near-equal integers. */
function split(total: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));
}

export async function runLoad(input: Partial<LoadOptions>): Promise<LoadReport> {
  const options = withDefaults(input);
  const { host, port, connections } = options;
  const address = `${host}:${port}`;
  const pool =
    options.replay === undefined
      ? generateFramePool({
          count: poolFrameCount(options),
          payloadMin: options.payloadMin,
          payloadMax: options.payloadMax,
          sourceLen: options.sourceLen,
          destLen: options.destLen,
          seed: options.seed,
          corruptEvery: options.corruptEvery,
          flags: options.acks ? Flags.ACK_REQUEST : 0,
        })
      : null;

  const sockets = await connectAll(host, port, connections, options.tls);
  const totals: Totals = { packets: 0, bytes: 0, errors: 0, seconds: 0, corrupted: 0, firstError: null, acked: 0 };
  const trackers = options.acks ? sockets.map((socket) => new AckTracker(socket)) : null;
  const start = performance.now();
  const progress = startProgress(options, totals, start);
  const budgets = options.packets === undefined ? null : split(options.packets, connections);
  const deadline = options.durationS === undefined ? Infinity : start + options.durationS * 1000;
  const perConnectionRate = options.rate / connections;

  await Promise.all(
    sockets.map(async (socket, i) => {
      try {
        if (pool === null) {
          await sendReplay(socket, address, options.replay as string, totals);
        } else {
          const pacer = perConnectionRate > 0 ? new Pacer(perConnectionRate, start) : null;
          const tracker = trackers?.[i] ?? null;
          const sent = await sendFrames(socket, address, pool, { budget: budgets?.[i] ?? Infinity, deadline, pacer, tracker }, totals);
          if (options.corruptEvery > 0) totals.corrupted += Math.floor(sent / options.corruptEvery);
          if (tracker !== null) {
            await tracker.waitFor(sent, ACK_WAIT_MS);
            totals.acked += tracker.acked;
          }
        }
        await finish(socket, address, LINGER_MS);
      } catch (err) {
        totals.errors++;
        totals.firstError ??= (err as Error).message;
        socket.destroy();
      }
    }),
  );
  totals.seconds = (performance.now() - start) / 1000;
  if (progress !== null) clearInterval(progress);
  // Let the server close its side (bounded by LINGER_MS) so that it sees a clean FIN, not a reset.
  await Promise.all(sockets.map(whenClosed));
  const report = makeReport({ ...totals, connections });
  if (trackers === null) return report;
  const latencies = trackers.flatMap((t) => t.latenciesMs);
  return { ...report, acked: totals.acked, ackP50Ms: round3(quantile(latencies, 0.5)), ackP99Ms: round3(quantile(latencies, 0.99)) };
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}

async function connectAll(host: string, port: number, count: number, tls: ClientTlsOptions | undefined): Promise<net.Socket[]> {
  const attempts = Array.from({ length: count }, () => connectTo(host, port, CONNECT_TIMEOUT_MS, tls));
  const results = await Promise.allSettled(attempts);
  const failed = results.find((r) => r.status === 'rejected');
  if (failed === undefined) return results.map((r) => (r as PromiseFulfilledResult<net.Socket>).value);
  for (const r of results) if (r.status === 'fulfilled') r.value.destroy();
  throw failed.reason;
}

function startProgress(options: LoadOptions, totals: Totals, start: number): NodeJS.Timeout | null {
  const report = options.onProgress;
  if (report === undefined) return null;
  const timer = setInterval(() => {
    report({ packets: totals.packets, bytes: totals.bytes, errors: totals.errors, seconds: (performance.now() - start) / 1000 });
  }, options.progressIntervalMs ?? 500);
  timer.unref();
  return timer;
}

interface SendPlan {
  /** Frames this connection sends at most. */
  budget: number;
  /** performance.now() time to stop at. */
  deadline: number;
  pacer: Pacer | null;
  /** --acks: told about every write. */
  tracker: AckTracker | null;
}

/** Cycles the pool onto one socket in runs of whole frames; returns the frames written. */
async function sendFrames(socket: net.Socket, address: string, pool: FramePool, plan: SendPlan, totals: Totals): Promise<number> {
  const cursor = new PoolCursor(pool);
  let sent = 0;
  while (sent < plan.budget) {
    const now = performance.now();
    if (now >= plan.deadline) break;
    let allowed = plan.budget - sent;
    if (plan.pacer !== null) {
      const due = plan.pacer.due(now) - sent;
      if (due <= 0) {
        await sleep(Math.min(plan.pacer.delayUntil(sent, now), plan.deadline - now));
        continue;
      }
      allowed = Math.min(allowed, due);
    }
    const run = cursor.next(allowed, BATCH_BYTES);
    sent += run.frames;
    totals.packets += run.frames;
    totals.bytes += run.bytes.length;
    const flowing = socket.write(run.bytes);
    plan.tracker?.wrote(sent);
    if (!flowing) await waitDrain(socket, address);
  }
  return sent;
}

/** Sends a file's bytes as they are, in REPLAY_READ_BYTES reads. */
async function sendReplay(socket: net.Socket, address: string, path: string, totals: Totals): Promise<void> {
  const counter = new FrameCounter();
  for await (const chunk of createReadStream(path, { highWaterMark: REPLAY_READ_BYTES })) {
    const bytes = chunk as Buffer;
    const before = counter.frames;
    counter.push(bytes);
    totals.packets += counter.frames - before;
    totals.bytes += bytes.length;
    if (!socket.write(bytes)) await waitDrain(socket, address);
  }
}
