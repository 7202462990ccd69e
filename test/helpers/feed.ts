/**
 * Driving a FrameReader the way the socket layer does: a collecting
 * consumer, and `feedInCuts`, which delivers a stream in chunks through
 * either `readBuffer()` + copy + `committed(n)` (the onread path) or
 * `write(chunk)` (the 'data' event path).
 */
import { FrameReader, type ErrorPolicy, type FrameConsumer } from '../../src/frame/frame-reader.js';
import type { DecoderLimits } from '../../src/frame/frame-decoder.js';
import type { PacketView } from '../../src/frame/packet-view.js';
import { IngestStats } from '../../src/metrics/ingest-stats.js';
import { RingPool } from '../../src/ring/pool.js';
import type { FrameErrorReason } from '../../src/wire/reasons.js';

export const LIMITS: DecoderLimits = { maxPayloadBytes: 1 << 20, maxHeaderBytes: 4096 };
export const CLOSE: ErrorPolicy = { onFrameError: 'close', onChecksumError: 'close' };
export const RESYNC: ErrorPolicy = { onFrameError: 'resync', onChecksumError: 'drop' };
export const DROP: ErrorPolicy = { onFrameError: 'close', onChecksumError: 'drop' };

export type FeedMode = 'readBuffer' | 'write';
export const FEED_MODES: readonly FeedMode[] = ['readBuffer', 'write'];

/** A consumer that records what the reader reports; `onFrameHook` sees each view first. */
export class Collector implements FrameConsumer {
  readonly errors: Array<{ reason: FrameErrorReason; offset: number }> = [];
  readonly holdErrors: Array<{ index: number; error: unknown }> = [];
  frames = 0;
  batches = 0;
  onFrameHook: ((view: PacketView, index: number) => void) | null = null;
  onBatchEndHook: (() => void) | null = null;

  onFrame(packet: PacketView): void {
    const index = this.frames++;
    this.onFrameHook?.(packet, index);
  }
  onBatchEnd(): void {
    this.batches++;
    this.onBatchEndHook?.();
  }
  onFrameError(reason: FrameErrorReason, offset: number): void {
    this.errors.push({ reason, offset });
  }
  onHoldError(index: number, error: unknown): void {
    this.holdErrors.push({ index, error });
  }
}

export interface Harness {
  reader: FrameReader;
  collector: Collector;
  stats: IngestStats;
  pool: RingPool;
  /** Times onRoom fired. */
  roomCalls: () => number;
}

export function makeReader(
  ringBytes: number,
  opts: { policy?: ErrorPolicy; limits?: DecoderLimits; pool?: RingPool } = {},
): Harness {
  const pool = opts.pool ?? new RingPool(ringBytes);
  const stats = new IngestStats();
  const collector = new Collector();
  const reader = new FrameReader(pool, opts.limits ?? LIMITS, opts.policy ?? CLOSE, stats, collector);
  let rooms = 0;
  reader.onRoom = () => {
    rooms++;
  };
  return { reader, collector, stats, pool, roomCalls: () => rooms };
}

export interface FeedOptions {
  mode: FeedMode;
  /**
   * Called when the reader takes no more bytes (readBuffer() null, or a
   * short write). It should release held bytes; false means it could not.
   */
  makeRoom?: () => boolean | Promise<boolean>;
  /** Called after each chunk was fully handed over. */
  afterChunk?: () => void | Promise<void>;
}

/**
 * Feeds `bytes` in chunks whose sizes cycle through `sizes` (a size larger
 * than what is left takes the rest). Returns the bytes the reader took;
 * fewer than all only if it failed (close policy).
 *
 * When the reader takes nothing (readBuffer() null, or write() returning 0)
 * `makeRoom` must release something, else the feed throws: a stall. A short
 * write that took some bytes is simply offered again.
 */
export async function feedInCuts(reader: FrameReader, bytes: Buffer, sizes: readonly number[], opts: FeedOptions): Promise<number> {
  let at = 0;
  let k = 0;
  while (at < bytes.length) {
    const end = Math.min(bytes.length, at + Math.max(1, sizes[k++ % sizes.length]));
    while (at < end) {
      if (reader.failed !== null) return at;
      let n = 0;
      if (opts.mode === 'readBuffer') {
        const region = reader.reserveRead();
        if (region !== null) {
          n = Math.min(region.length, end - at);
          region.set(bytes.subarray(at, at + n));
          reader.committed(n);
        }
      } else {
        n = reader.write(bytes, at, end);
      }
      at += n;
      if (n > 0 || reader.failed !== null) continue;
      const released = opts.makeRoom ? await opts.makeRoom() : false;
      if (!released) {
        throw new Error(`reader stalled at byte ${at} of ${bytes.length} (${opts.mode}) with nothing left to release`);
      }
    }
    await opts.afterChunk?.();
  }
  return at;
}

/** Feeds synchronously with no holds (for the exhaustive cut tests); same contract as feedInCuts. */
export function feedChunksSync(reader: FrameReader, chunks: readonly Buffer[], mode: FeedMode): void {
  for (const chunk of chunks) {
    let at = 0;
    let idle = 0;
    while (at < chunk.length) {
      if (reader.failed !== null) return;
      let n: number;
      if (mode === 'readBuffer') {
        const region = reader.reserveRead();
        if (region === null) throw new Error('readBuffer() returned null with nothing held');
        n = Math.min(region.length, chunk.length - at);
        region.set(chunk.subarray(at, at + n));
        reader.committed(n);
      } else {
        n = reader.write(chunk, at);
      }
      at += n;
      idle = n === 0 ? idle + 1 : 0;
      if (idle > 2) throw new Error('write() made no progress');
    }
  }
}

/** Lets settled promises run their callbacks (no timers). */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A promise with its resolve and reject. */
export interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
