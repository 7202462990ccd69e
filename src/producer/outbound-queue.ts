/**
 * What the producer has accepted and not yet seen written: frames encoded into
 * slabs, plus caller buffers from sendRaw, in send order. The producer takes
 * chunks to write and releases each one from its write callback; only then
 * may the slab bytes under it be reused.
 */
import { encodeFrameInto, encodeStampedFrame, type FrameInput, type FrameStamp } from '../wire/encode.js';
import { type Slab, SlabPool } from './slab-pool.js';

export interface Chunk {
  readonly bytes: Buffer;
  /** The slab `bytes` is a view of, or null for a caller's or a dedicated buffer. */
  readonly slab: Slab | null;
  /** Whole frames in `bytes` (ack mode maps ACK counts to chunks with it). */
  readonly frames: number;
}

export class OutboundQueue {
  private readonly pool: SlabPool;
  private slab: Slab | null = null;
  /** The open region is slab.buf[start, end): encoded, not yet handed out. */
  private start = 0;
  private end = 0;
  /** Frames in the open region. */
  private openFrames = 0;
  private chunks: Chunk[] = [];
  /** Bytes accepted and not yet released: queued plus being written. */
  bytes = 0;

  constructor(slabBytes: number, maxFreeSlabs: number) {
    this.pool = new SlabPool(slabBytes, maxFreeSlabs);
  }

  /** Chunks sealed and waiting to be taken. */
  get waiting(): number {
    return this.chunks.length + (this.end > this.start ? 1 : 0);
  }

  /**
   * Encodes `frame` (`length` = its encodedLength with `stamp`) at the end of the queue.
   * Returns true when a full slab was sealed: worth writing now, not at the turn's end.
   */
  appendFrame(frame: FrameInput, length: number, stamp: FrameStamp | null = null): boolean {
    if (length > this.pool.slabBytes) {
      this.appendRaw(encodeStampedFrame(frame, stamp), 1);
      return true;
    }
    let slab = this.slab;
    // Nothing open and nothing of this slab in flight: start over at its head.
    if (slab !== null && slab.refs === 0 && this.start === this.end) this.start = this.end = 0;
    let rolled = false;
    if (slab === null || this.end + length > slab.buf.length) {
      rolled = slab !== null;
      this.seal();
      if (slab !== null) this.pool.retire(slab);
      slab = this.slab = this.pool.acquire();
      this.start = this.end = 0;
    }
    this.end += encodeFrameInto(frame, slab.buf, this.end, stamp);
    this.openFrames++;
    this.bytes += length;
    return rolled;
  }

  /** Queues the caller's bytes (`frames` whole frames) as they are; the caller must not change them until released. */
  appendRaw(bytes: Buffer, frames: number): void {
    this.seal();
    this.chunks.push({ bytes, slab: null, frames });
    this.bytes += bytes.length;
  }

  /** Hands over every queued chunk, in order; each must come back through release(). */
  take(): Chunk[] {
    this.seal();
    const chunks = this.chunks;
    this.chunks = [];
    return chunks;
  }

  release(chunk: Chunk): void {
    this.bytes -= chunk.bytes.length;
    if (chunk.slab !== null) this.pool.release(chunk.slab);
  }

  /** Drops every chunk not yet taken; returns the bytes dropped. */
  discard(): number {
    let dropped = 0;
    for (const chunk of this.take()) {
      dropped += chunk.bytes.length;
      this.release(chunk);
    }
    return dropped;
  }

  /** Closes the open region into a chunk; its slab stays held until release(). */
  private seal(): void {
    const slab = this.slab;
    if (slab === null || this.end === this.start) return;
    this.chunks.push({ bytes: slab.buf.subarray(this.start, this.end), slab, frames: this.openFrames });
    slab.refs++;
    this.start = this.end;
    this.openFrames = 0;
  }
}
