/**
 * The framed reader of one connection: owns its ring (taken from the pool
 * only while bytes are in flight), the decoder, the buffer of a frame
 * larger than the ring, and the holds that handlers put on delivered bytes.
 * It applies the error policy; the socket layer only moves bytes and
 * pauses or resumes.
 *
 *   socket --(readBuffer / committed, or write for copied chunks)--> ring
 *   ring --(decode)--> consumer.onFrame(view) ... consumer.onBatchEnd()
 *   consumer --(hold(promise))--> bytes stay held until it settles
 *   settle --> ring.release --> onRoom() (the socket may resume)
 */
import type { FrameErrorReason } from '../wire/reasons.js';
import type { IngestStats } from '../metrics/ingest-stats.js';
import type { Ring } from '../ring/ring.js';
import type { RingPool } from '../ring/pool.js';
import { FrameDecoder, type DecoderLimits } from './frame-decoder.js';
import type { PacketView } from './packet-view.js';

export interface ErrorPolicy {
  /** Framing lost: close the connection, or skip to the next magic. */
  readonly onFrameError: 'close' | 'resync';
  /** Checksum mismatch: drop that frame and go on, or close. */
  readonly onChecksumError: 'drop' | 'close';
}

export interface FrameConsumer {
  onFrame(packet: PacketView): void;
  /** After each batch of frames from one read. */
  onBatchEnd(): void;
  /** A frame failed `reason` at stream `offset`; counted and logged by the consumer. */
  onFrameError(reason: FrameErrorReason, offset: number): void;
  /** A held promise rejected (the handler at `index`). */
  onHoldError(index: number, error: unknown): void;
}

/** Reads of at least this much are worth a move to the front of the ring. */
const MAX_MIN_READ = 64 * 1024;

/** Bytes of one or more batches, released together once every hold on them settled. */
class ReleaseMark {
  bytes = 0;
  /** Oversize frames delivered in its batches: not ring bytes, but held all the same. */
  bigBytes = 0;
  pending = 0;
  readonly settle = (): void => {
    this.pending--;
    if (this.pending === 0) this.reader.settled();
  };
  private readonly rejecters: Array<((error: unknown) => void) | undefined> = [];
  constructor(private readonly reader: FrameReader) {}
  rejecter(index: number): (error: unknown) => void {
    return (this.rejecters[index] ??= (error: unknown) => {
      this.reader.consumer.onHoldError(index, error);
      this.settle();
    });
  }
}

export class FrameReader {
  readonly decoder: FrameDecoder;
  readonly consumer: FrameConsumer;
  /** Set once the stream failed under a `close` policy: the caller closes. */
  failed: FrameErrorReason | null = null;
  /** Called when released bytes made room after readBuffer() returned null. */
  onRoom: (() => void) | null = null;

  private ring: Ring | null = null;
  private readonly pool: RingPool;
  private readonly policy: ErrorPolicy;
  private readonly stats: IngestStats;
  /** A frame larger than the ring, gathered in its own buffer. */
  private big: Buffer | null = null;
  private bigFill = 0;
  /** Under resync, the bytes after a failed oversize frame, still to go through the ring. */
  private replay: Buffer | null = null;
  /** Oversize frames delivered in the current batch, and those still held by marks. */
  private batchBig = 0;
  private heldBig = 0;
  /** Bytes consumed in the current batch, not yet assigned to a release. */
  private batchBytes = 0;
  private batchMark: ReleaseMark | null = null;
  private readonly marks: ReleaseMark[] = [];
  private waitingForRoom = false;
  private ended = false;
  private closed = false;
  /** What this reader last added to stats.ringBytes. */
  private accounted = 0;

  constructor(pool: RingPool, limits: DecoderLimits, policy: ErrorPolicy, stats: IngestStats, consumer: FrameConsumer) {
    this.pool = pool;
    this.policy = policy;
    this.stats = stats;
    this.consumer = consumer;
    this.decoder = new FrameDecoder(limits);
  }

  /**
   * The region the next read should land in, or null when there is no room
   * (the caller pauses and waits for onRoom). A new view per read.
   */
  readBuffer(): Buffer | null {
    if (this.failed !== null || this.closed) return null;
    if (this.replay !== null && !this.drainReplay()) {
      this.waitingForRoom = true;
      return null; // replayed bytes come before any new read
    }
    if (this.failed !== null) return null;
    if (this.big !== null) return this.big.subarray(this.bigFill);
    const ring = (this.ring ??= this.pool.acquire());
    if (this.decoder.frameLength > ring.capacity && this.decoder.error === null) {
      // One oversize frame per connection at a time: while a handler still
      // holds the last one, the next waits, so memory stays ring + one frame.
      if (this.heldBig > 0) {
        this.waitingForRoom = true;
        return null;
      }
      this.startBig(ring);
      return this.big === null ? null : (this.big as Buffer).subarray(this.bigFill);
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
    if (!ok) {
      this.waitingForRoom = true;
      return null;
    }
    return ring.buffer.subarray(ring.tail, ring.tail + ring.writable);
  }

  /** `n` bytes landed in the region readBuffer() returned last. */
  committed(n: number): void {
    this.landed(n);
    if (this.replay !== null && !this.drainReplay()) this.waitingForRoom = true;
    this.endBatch();
  }

  /**
   * Copies a chunk that landed elsewhere ('data' events, a shared landing
   * buffer, a file) and processes it. Returns the bytes taken: fewer than
   * the chunk when the ring is full; offer the rest again after onRoom.
   */
  write(chunk: Buffer, start = 0, end = chunk.length): number {
    let at = start;
    while (at < end) {
      if (this.replay !== null && !this.drainReplay()) {
        this.waitingForRoom = true;
        break;
      }
      const n = this.feed(chunk, at, end);
      at += n;
      if (n === 0 && this.replay === null) break;
    }
    if (this.replay !== null && !this.drainReplay()) this.waitingForRoom = true;
    this.endBatch();
    return at - start;
  }

  /** Register a handler's promise on the frames of the current batch. */
  hold(promise: PromiseLike<unknown>, handlerIndex: number): void {
    const mark = (this.batchMark ??= new ReleaseMark(this));
    mark.pending++;
    promise.then(mark.settle, mark.rejecter(handlerIndex));
  }

  /**
   * The stream ended (FIN, reset, timeout, drain). A partly received frame
   * counts one `truncated`.
   */
  end(): void {
    if (this.failed !== null || this.closed || this.ended) return;
    this.ended = true;
    const partial = this.big !== null || this.replay !== null || (this.ring !== null && this.ring.pending > 0);
    if (partial) this.consumer.onFrameError('truncated', this.decoder.offset);
  }

  /** Bytes in flight: held or pending, in the ring or a big frame. */
  get bytesOwned(): number {
    return (this.ring?.used ?? 0) + (this.big?.length ?? 0) + (this.replay?.length ?? 0) + this.heldBig;
  }

  /** Bytes after a failed oversize frame still wait to go through the ring. */
  get hasReplay(): boolean {
    return this.replay !== null;
  }

  /** Fill of the ring, 0..1, for status pages. */
  get fill(): number {
    return this.ring === null ? 0 : this.ring.used / this.ring.capacity;
  }

  /** True when the ring could go back to the pool (nothing in flight). */
  get idle(): boolean {
    return this.bytesOwned === 0 && this.marks.length === 0 && this.batchMark === null;
  }

  /** Return an unused ring to the pool (an idle connection keeps none). */
  releaseRing(): void {
    if (this.ring !== null && this.idle) {
      this.pool.release(this.ring);
      this.ring = null;
      this.decoder.forgetBuffer(); // its reused view still points into the ring
    }
  }

  /** The connection is gone: no more reads; the ring returns once holds settle. */
  close(): void {
    this.closed = true;
    this.big = null;
    this.replay = null;
    this.giveBackIfDone();
  }

  private process(): void {
    const ring = this.ring as Ring;
    const decoder = this.decoder;
    for (;;) {
      const consumed = decoder.decode(ring.buffer, ring.cursor, ring.tail, this.consumer);
      ring.consume(consumed);
      this.batchBytes += consumed;
      if (decoder.error === null) break;
      const skip = this.onError(ring.buffer, ring.cursor, ring.tail);
      if (skip < 0) return;
      ring.consume(skip);
      this.batchBytes += skip;
    }
  }

  /** Handles decoder.error; returns bytes to skip, or -1 if the stream failed. */
  private onError(buf: Buffer, start: number, end: number): number {
    const decoder = this.decoder;
    const reason = decoder.error as FrameErrorReason;
    this.consumer.onFrameError(reason, decoder.errorOffset);
    if (reason === 'crc_mismatch' && this.policy.onChecksumError === 'drop') return decoder.skipFrame();
    if (reason !== 'crc_mismatch' && this.policy.onFrameError === 'resync') return decoder.resync(buf, start, end);
    this.failed = reason;
    return -1;
  }

  /** The frame at the cursor is larger than the ring: gather it in its own buffer. */
  private startBig(ring: Ring): void {
    let big: Buffer;
    try {
      big = Buffer.allocUnsafeSlow(this.decoder.frameLength);
    } catch {
      // Above what this process can allocate: as good as over the limit.
      this.consumer.onFrameError('frame_too_large', this.decoder.offset);
      this.failed = 'frame_too_large';
      return;
    }
    const prefix = ring.pending;
    ring.buffer.copy(big, 0, ring.cursor, ring.tail);
    ring.consume(prefix);
    this.batchBytes += prefix; // released with this batch: the bytes now live in `big`
    this.big = big;
    this.bigFill = prefix;
  }

  private processBig(): void {
    const big = this.big as Buffer;
    const decoder = this.decoder;
    const consumed = decoder.decode(big, 0, this.bigFill, this.consumer);
    if (decoder.error !== null) {
      // Whatever the policy, this frame is gone; resync scans the ring bytes that follow.
      const skip = this.onError(big, 0, this.bigFill);
      this.big = null;
      // Under `resync` the bytes after the skip go through the ring again, never dropped:
      // they wait in `replay` for room, ahead of any new read.
      if (skip >= 0 && skip < this.bigFill) this.replay = big.subarray(skip, this.bigFill);
      return;
    }
    if (consumed > 0) {
      this.batchBig += big.length; // counted while a hold on this batch keeps the Buffer alive
      this.big = null;
    }
  }

  /** Feeds `replay` through the ring as far as room allows; true once it is all in. */
  private drainReplay(): boolean {
    while (this.replay !== null && this.failed === null) {
      const r = this.replay;
      this.replay = null;
      const rest = r.subarray(this.feed(r, 0, r.length));
      if (this.replay !== null) {
        // Another oversize frame inside it failed: its replay comes first.
        if (rest.length > 0) this.replay = Buffer.concat([this.replay, rest]);
      } else if (rest.length > 0) {
        this.replay = rest;
        return false;
      }
    }
    return this.replay === null;
  }

  /** Copies chunk[start, end) into read regions and processes it, while there is room. */
  private feed(chunk: Buffer, start: number, end: number): number {
    let at = start;
    while (at < end && this.replay === null) {
      let region = this.readBuffer();
      if (region === null && this.batchBytes > 0) {
        // The room may be taken by this very batch: close it (handlers see
        // onBatchEnd before its bytes are released) and look again.
        this.endBatch();
        region = this.readBuffer();
      }
      if (region === null) break;
      const n = Math.min(region.length, end - at);
      chunk.copy(region, 0, at, at + n);
      at += n;
      this.landed(n);
    }
    return at - start;
  }

  /** `n` bytes are in the region readBuffer() returned: commit and decode them. */
  private landed(n: number): void {
    if (this.big !== null) {
      this.bigFill += n;
      this.processBig();
    } else {
      (this.ring as Ring).commit(n);
      this.process();
    }
  }

  private endBatch(): void {
    this.consumer.onBatchEnd();
    const mark = this.batchMark;
    this.batchMark = null;
    const bytes = this.batchBytes;
    this.batchBytes = 0;
    const bigBytes = this.batchBig;
    this.batchBig = 0;
    if (mark !== null) {
      mark.bytes += bytes;
      mark.bigBytes += bigBytes;
      this.heldBig += bigBytes;
      this.marks.push(mark);
    } else if (this.marks.length > 0) {
      this.marks[this.marks.length - 1].bytes += bytes; // released after the holds before it
    } else if (bytes > 0) {
      (this.ring as Ring).release(bytes);
    }
    this.account();
  }

  /** A mark reached zero pending: release every settled mark at the front, in order. */
  settled(): void {
    const ring = this.ring as Ring;
    while (this.marks.length > 0 && this.marks[0].pending === 0) {
      const mark = this.marks.shift() as ReleaseMark;
      ring.release(mark.bytes);
      this.heldBig -= mark.bigBytes;
    }
    if (!this.closed && this.replay !== null) {
      this.drainReplay(); // its own batch: frames in it may be held
      this.endBatch();
    }
    this.account();
    if (this.closed) this.giveBackIfDone();
    else if (this.waitingForRoom) {
      this.waitingForRoom = false;
      this.onRoom?.();
    }
  }

  private giveBackIfDone(): void {
    if (this.marks.length > 0 || this.batchMark !== null) return;
    if (this.ring !== null) {
      this.pool.release(this.ring);
      this.ring = null;
    }
    this.account();
  }

  private account(): void {
    const now = this.closed && this.ring === null ? 0 : this.bytesOwned;
    this.stats.ringBytes += now - this.accounted;
    this.accounted = now;
  }
}
