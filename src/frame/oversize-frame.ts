/**
 * A frame larger than the ring, gathered in a buffer of its own (one per
 * connection at a time: the reader waits while a handler still holds the
 * last one, so memory stays ring + one frame). Owned by the FrameReader;
 * dropped at close and when the frame fails (its bytes after the resync
 * point go back to the reader's backlog).
 */
import type { Ring } from '../ring/ring.js';
import type { FrameDecoder } from './frame-decoder.js';
import type { FrameConsumer } from './consumer.js';

export class OversizeFrame {
  private buf: Buffer | null = null;
  private fill = 0;

  get active(): boolean {
    return this.buf !== null;
  }

  /** Bytes this frame's buffer takes while it is being gathered. */
  get size(): number {
    return this.buf?.length ?? 0;
  }

  /** Where the next bytes of the frame land. */
  region(): Buffer {
    return (this.buf as Buffer).subarray(this.fill);
  }

  /** The bytes gathered so far. */
  bytes(): Buffer {
    return (this.buf as Buffer).subarray(0, this.fill);
  }

  /**
   * Moves the frame's first bytes (the ring's pending ones) into a buffer of
   * its own. Returns the bytes moved, or -1 if the process cannot allocate
   * `frameLength` (as good as over the limit).
   */
  start(ring: Ring, frameLength: number): number {
    let big: Buffer;
    try {
      big = Buffer.allocUnsafeSlow(frameLength);
    } catch {
      return -1;
    }
    const prefix = ring.pending;
    ring.buffer.copy(big, 0, ring.cursor, ring.tail);
    ring.consume(prefix);
    this.buf = big;
    this.fill = prefix;
    return prefix;
  }

  /**
   * `n` bytes landed in region(): decode once whole. Returns the bytes of a
   * delivered frame (the caller counts them as held), 0 while incomplete,
   * -1 on a decode error (decoder.error says which; call drop()).
   */
  land(n: number, decoder: FrameDecoder, consumer: FrameConsumer): number {
    const big = this.buf as Buffer;
    this.fill += n;
    const consumed = decoder.decode(big, 0, this.fill, consumer);
    if (decoder.error !== null) return -1;
    if (consumed === 0) return 0;
    this.buf = null;
    return big.length;
  }

  /** Drops the frame; returns its bytes from `skip` on (to go through the ring again), or null. */
  drop(skip: number): Buffer | null {
    const rest = skip >= 0 && skip < this.fill ? (this.buf as Buffer).subarray(skip, this.fill) : null;
    this.buf = null;
    return rest;
  }
}
