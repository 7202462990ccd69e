/**
 * The part of a FrameReader that turns ring bytes into frames: the ring
 * (taken from the pool while bytes are in flight), the decoder, an oversize
 * frame's own buffer, the hold ledger, the error policy and the ring-bytes
 * gauge. FrameReader (frame-reader.ts) builds on it: it owns the input
 * (backlog, pump, end of stream). Split only to keep each file to one idea;
 * one class at run time, so the hot path stays monomorphic.
 */
import type { FrameErrorReason } from '../wire/reasons.js';
import type { IngestStats } from '../metrics/ingest-stats.js';
import type { Ring } from '../ring/ring.js';
import type { RingPool } from '../ring/pool.js';
import type { ErrorPolicy, FrameConsumer } from './consumer.js';
import { FrameDecoder, type DecoderLimits } from './frame-decoder.js';
import { HoldLedger } from './hold-ledger.js';
import { OversizeFrame } from './oversize-frame.js';

/** Reads of at least this much are worth a move to the front of the ring. */
const MAX_MIN_READ = 64 * 1024;

const CLOSE_ON_EVERY_ERROR: ErrorPolicy = { onFrameError: 'close', onChecksumError: 'close' };

export abstract class ReadCore {
  readonly decoder: FrameDecoder;
  readonly consumer: FrameConsumer;
  /** Set once the stream failed under a `close` policy: the caller closes. */
  failed: FrameErrorReason | null = null;
  /**
   * Called when `failed` is set, inside a read or outside one (a settled
   * hold pumps the backlog and finds the error there, with no read to follow).
   */
  onFailed: (() => void) | null = null;

  protected ring: Ring | null = null;
  protected readonly pool: RingPool;
  protected readonly ledger: HoldLedger;
  protected readonly big = new OversizeFrame();
  /** Bytes received but not yet through the ring, in stream order; they go before any new read. */
  protected backlog: Buffer | null = null;
  protected closed = false;
  /** The server's error policy until ack mode makes every frame error close. */
  private policy: ErrorPolicy;
  private readonly stats: IngestStats;
  /** What this reader last added to stats.ringBytes. */
  private accounted = 0;

  constructor(pool: RingPool, limits: DecoderLimits, policy: ErrorPolicy, stats: IngestStats, consumer: FrameConsumer) {
    this.pool = pool;
    this.policy = policy;
    this.stats = stats;
    this.consumer = consumer;
    this.decoder = new FrameDecoder(limits);
    this.ledger = new HoldLedger(
      () => this.settled(),
      (index, error) => consumer.onHoldError(index, error),
    );
  }

  /** Ack mode: a dropped or skipped frame would break the producer's count, so from now on every frame error closes. */
  closeOnEveryError(): void {
    this.policy = CLOSE_ON_EVERY_ERROR;
  }

  /** Front marks of the ledger settled. */
  protected abstract settled(): void;

  /** Bytes in flight: held or pending, in the ring, a big frame or the backlog. */
  get bytesOwned(): number {
    return (this.ring?.used ?? 0) + this.big.size + (this.backlog?.length ?? 0) + this.ledger.heldBig;
  }

  /** Date.now() of the oldest unsettled handler hold, or -1 (limits.handlerTimeoutMs). */
  get oldestHoldSince(): number {
    return this.ledger.oldestHoldSince;
  }

  /** Handler indices whose holds keep the oldest held bytes (called only when it timed out). */
  oldestHolders(): number[] {
    return this.ledger.oldestHolders();
  }

  /** A frame larger than the ring is being gathered in its own buffer. */
  get gatheringOversize(): boolean {
    return this.big.active;
  }

  /** Fill of the ring, 0..1, for status pages. */
  get fill(): number {
    return this.ring === null ? 0 : this.ring.used / this.ring.capacity;
  }

  /** True when the ring could go back to the pool (nothing in flight). */
  get idle(): boolean {
    return this.bytesOwned === 0 && !this.ledger.busy;
  }

  /** Return an unused ring to the pool (an idle connection keeps none). */
  releaseRing(): void {
    if (this.ring !== null && this.idle) {
      this.pool.release(this.ring);
      this.ring = null;
      this.decoder.forgetBuffer(); // its reused view still points into the ring
    }
  }

  /** The region for the next bytes, without touching the backlog or `waitingForRoom`. */
  protected region(): Buffer | null {
    if (this.failed !== null || this.closed) return null;
    if (this.big.active) return this.big.region();
    const ring = (this.ring ??= this.pool.acquire());
    if (this.decoder.frameLength > ring.capacity && this.decoder.error === null) {
      // One oversize frame per connection at a time: while a handler still
      // holds the last one, the next waits, so memory stays ring + one frame.
      if (this.ledger.heldBig > 0) return null;
      const prefix = this.big.start(ring, this.decoder.frameLength);
      if (prefix < 0) {
        this.consumer.onFrameError('frame_too_large', this.decoder.offset);
        this.fail('frame_too_large');
        return null;
      }
      this.ledger.batchBytes += prefix; // released with this batch: the bytes now live in `big`
      return this.big.region();
    }
    const room = ring.capacity - ring.pending;
    const remaining = this.decoder.need - ring.pending;
    const want = Math.min(Math.max(remaining, Math.min(MAX_MIN_READ, ring.capacity >>> 2)), room);
    const moved = ring.movedBytes;
    const ok = ring.reserve(want) || ring.writable > 0;
    if (ring.movedBytes !== moved) {
      this.stats.ringMoves++;
      this.stats.ringMovedBytes += ring.movedBytes - moved;
    }
    return ok ? ring.buffer.subarray(ring.tail, ring.tail + ring.writable) : null;
  }

  private process(): void {
    const ring = this.ring as Ring;
    const decoder = this.decoder;
    for (;;) {
      const consumed = decoder.decode(ring.buffer, ring.cursor, ring.tail, this.consumer);
      ring.consume(consumed);
      this.ledger.batchBytes += consumed;
      if (decoder.error === null) break;
      const skip = this.onError(ring.buffer, ring.cursor, ring.tail);
      if (skip < 0) return;
      ring.consume(skip);
      this.ledger.batchBytes += skip;
    }
  }

  /** Handles decoder.error; returns bytes to skip, or -1 if the stream failed. */
  private onError(buf: Buffer, start: number, end: number): number {
    const decoder = this.decoder;
    const reason = decoder.error as FrameErrorReason;
    this.consumer.onFrameError(reason, decoder.errorOffset);
    // Only a checksum mismatch leaves framing intact (the lengths were sane).
    if (reason === 'crc_mismatch' && this.policy.onChecksumError === 'drop') return decoder.skipFrame();
    if (reason !== 'crc_mismatch' && this.policy.onFrameError === 'resync') return decoder.resync(buf, start, end);
    this.fail(reason);
    return -1;
  }

  private fail(reason: FrameErrorReason): void {
    this.failed = reason;
    this.onFailed?.();
  }

  /** `n` bytes are in the region last handed out: commit and decode them. */
  protected landed(n: number): void {
    if (this.big.active) {
      const delivered = this.big.land(n, this.decoder, this.consumer);
      // Counted while a hold on this batch keeps the Buffer alive.
      if (delivered > 0) this.ledger.batchBig += delivered;
      else if (delivered < 0) {
        // Whatever the policy, this frame is gone; under `resync` the bytes after
        // the skip go through the ring again, never dropped: to the FRONT of the
        // backlog (they came first).
        const rest = this.big.drop(this.onError(this.big.bytes(), 0, this.big.bytes().length));
        if (rest !== null) this.backlog = this.backlog === null ? rest : Buffer.concat([rest, this.backlog]);
      }
    } else {
      (this.ring as Ring).commit(n);
      this.process();
    }
  }

  protected endBatch(): void {
    this.consumer.onBatchEnd();
    this.ledger.endBatch(this.ring);
    this.account();
  }
  protected account(): void {
    const now = this.closed && this.ring === null ? 0 : this.bytesOwned;
    this.stats.ringBytes += now - this.accounted;
    this.accounted = now;
  }
}
