/**
 * The decoder suite's contenders behind one interface: start a run, feed it
 * chunks as reads deliver them, finish and count. Every contender gets the
 * same handler: count the packet and keep the last one (so the packet
 * escapes, as it would to any real handler, and no work is dead code).
 */
import { FrameReader, type ErrorPolicy, type FrameConsumer } from '../src/frame/frame-reader.js';
import type { PacketView } from '../src/frame/packet-view.js';
import { IngestStats } from '../src/metrics/ingest-stats.js';
import { RingPool } from '../src/ring/pool.js';
import type { FrameErrorReason } from '../src/wire/reasons.js';
import { BlDecoder } from './baselines/bl-decoder.js';
import { CopyingDecoder } from './baselines/copying-decoder.js';
import type { DecodedPacket } from './baselines/packet.js';
import { BenchFailure } from './lib/suite.js';

export interface DecodeResult {
  /** Packets handed to the handler. */
  readonly packets: number;
  /** Frames reported bad (CRC mismatch, or anything else). */
  readonly errors: number;
  /** Bytes of an incomplete frame at the end, or of a stream that failed. */
  readonly leftoverBytes: number;
}

export interface DecodeRun {
  feed(chunk: Buffer): void;
  finish(): DecodeResult;
}

export interface Contender {
  readonly name: string;
  /** Set up a fresh decoder; allocation here is outside the measured window. */
  start(): DecodeRun;
}

export const PKT_INGEST_NAME = 'pkt-ingest';
/** The ratios' denominator. */
export const BASELINE_NAME = 'copying (concat)';

/** The server's defaults (config/default.json). */
const RING_BYTES = 256 * 1024;
const LIMITS = { maxPayloadBytes: 1024 * 1024, maxHeaderBytes: 4096 };
const POLICY: ErrorPolicy = { onFrameError: 'close', onChecksumError: 'drop' };

class CountingConsumer implements FrameConsumer {
  packets = 0;
  errors = 0;
  last: PacketView | null = null;

  onFrame(packet: PacketView): void {
    this.packets++;
    this.last = packet;
  }

  onBatchEnd(): void {}

  onFrameError(_reason: FrameErrorReason, _offset: number): void {
    this.errors++;
  }

  onHoldError(): void {
    this.errors++;
  }
}

/**
 * pkt-ingest: a FrameReader over a pooled 256 KiB ring. Each chunk is copied
 * into the regions reserveRead() lends, as the kernel's read into the ring
 * would: that memcpy counts against pkt-ingest.
 */
class PktIngestRun implements DecodeRun {
  private readonly consumer = new CountingConsumer();
  private readonly reader: FrameReader;

  constructor(pool: RingPool) {
    this.reader = new FrameReader(pool, LIMITS, POLICY, new IngestStats(), this.consumer);
  }

  feed(chunk: Buffer): void {
    const reader = this.reader;
    let taken = 0;
    while (taken < chunk.length) {
      const region = reader.reserveRead();
      if (region === null) throw new BenchFailure(`pkt-ingest: no room in the ring (stream failed: ${reader.failed ?? 'no'})`);
      const n = chunk.copy(region, 0, taken);
      taken += n;
      reader.committed(n);
    }
  }

  finish(): DecodeResult {
    const reader = this.reader;
    reader.end();
    const leftoverBytes = reader.bytesOwned;
    reader.close();
    const { packets, errors } = this.consumer;
    return { packets, errors: errors + (reader.failed !== null ? 1 : 0), leftoverBytes };
  }
}

export function pktIngest(): Contender {
  const pool = new RingPool(RING_BYTES);
  pool.release(pool.acquire()); // the ring exists before the first measured run
  return { name: PKT_INGEST_NAME, start: () => new PktIngestRun(pool) };
}

/** The handler and error count the baselines share. */
class BaselineSink {
  packets = 0;
  errors = 0;
  last: DecodedPacket | null = null;
  readonly onPacket = (packet: DecodedPacket): void => {
    this.packets++;
    this.last = packet;
  };
  readonly onChecksumError = (): void => {
    this.errors++;
  };
}

class CopyingRun implements DecodeRun {
  private readonly sink = new BaselineSink();
  private readonly decoder = new CopyingDecoder(this.sink.onPacket, this.sink.onChecksumError);

  feed(chunk: Buffer): void {
    this.decoder.push(chunk);
  }

  finish(): DecodeResult {
    return { packets: this.sink.packets, errors: this.sink.errors, leftoverBytes: this.decoder.pendingBytes };
  }
}

class BlRun implements DecodeRun {
  private readonly sink = new BaselineSink();
  private readonly decoder = new BlDecoder(this.sink.onPacket, this.sink.onChecksumError);

  feed(chunk: Buffer): void {
    this.decoder.push(chunk);
  }

  finish(): DecodeResult {
    return { packets: this.sink.packets, errors: this.sink.errors, leftoverBytes: this.decoder.pendingBytes };
  }
}

export const copying = (): Contender => ({ name: BASELINE_NAME, start: () => new CopyingRun() });
export const bufferList = (): Contender => ({ name: 'bl (BufferList)', start: () => new BlRun() });

/** In table order. */
export const contenders = (): Contender[] => [pktIngest(), copying(), bufferList()];
