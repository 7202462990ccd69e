/**
 * A connection's receive ring: fixed capacity, every frame kept contiguous.
 *
 * Bytes move through four regions, always in this order:
 *
 *     released  |  held            |  pending          |  writable
 *               head               cursor              tail
 *
 *   held     delivered to handlers, not yet released (a handler's promise
 *            or a sink's write still references them)
 *   pending  committed by a read, not yet decoded
 *   writable lent to the socket for the next read
 *
 * It is a bip buffer: data lives in at most two segments. When the end of
 * the buffer is too close for the next frame, the pending bytes (a partial
 * frame, at most one) move to the front and the older segment is left to
 * drain:
 *
 *   unwrapped:  [ free | held | pending | writable ]          0 <= head <= cursor <= tail <= capacity
 *   wrapped:    [ pending' | writable | free | held | dead ]  newer [0, tail), older [head, wrapEnd)
 *               0          tail              head        wrapEnd
 *
 * So a frame never straddles the end: payloads are always single views and
 * a sink writes a run of frames as one segment. The price is that move, of
 * at most one partial frame per lap around the ring, counted in `moves` and
 * `movedBytes`.
 *
 * Ownership rule: positions only jump (move, reset) inside `reserve()`,
 * which the reader calls while no region is lent to the socket.
 */
import { RingError } from '../errors.js';

export class Ring {
  readonly buffer: Buffer;
  readonly capacity: number;
  /** Oldest byte still owned (held or pending). */
  head = 0;
  /** First byte not yet decoded. Always in the newer segment. */
  cursor = 0;
  /** One past the last committed byte. */
  tail = 0;
  /** End of the older segment while wrapped, else -1. */
  wrapEnd = -1;
  /** Partial frames moved to keep them contiguous, and their bytes. */
  moves = 0;
  movedBytes = 0;

  constructor(buffer: Buffer) {
    this.buffer = buffer;
    this.capacity = buffer.length;
  }

  get wrapped(): boolean {
    return this.wrapEnd >= 0;
  }

  /** Bytes owned: held plus pending. */
  get used(): number {
    return this.wrapEnd >= 0 ? this.wrapEnd - this.head + this.tail : this.tail - this.head;
  }

  /** Committed bytes not yet decoded: buffer[cursor, tail). */
  get pending(): number {
    return this.tail - this.cursor;
  }

  /** Bytes delivered but not released. */
  get held(): number {
    return this.used - this.pending;
  }

  /** Contiguous free bytes after tail. */
  get writable(): number {
    return (this.wrapEnd >= 0 ? this.head : this.capacity) - this.tail;
  }

  /** A read wrote `n` bytes at tail. */
  commit(n: number): void {
    if (n < 0 || n > this.writable) throw new RingError(`commit of ${n} bytes exceeds the ${this.writable} writable`);
    this.tail += n;
  }

  /** The decoder is done with `n` pending bytes: they become held. */
  consume(n: number): void {
    if (n < 0 || n > this.tail - this.cursor) throw new RingError(`consume of ${n} bytes exceeds the ${this.pending} pending`);
    this.cursor += n;
  }

  /** The `n` oldest held bytes are free again. Releases come in stream order. */
  release(n: number): void {
    if (n < 0 || n > this.held) throw new RingError(`release of ${n} bytes exceeds the ${this.held} held`);
    if (this.wrapEnd >= 0) {
      const older = this.wrapEnd - this.head;
      if (n < older) {
        this.head += n;
        return;
      }
      n -= older;
      this.head = 0;
      this.wrapEnd = -1;
    }
    this.head += n;
  }

  /**
   * Makes room so that the pending bytes plus `need` more are contiguous
   * after cursor, moving the pending bytes to the front if that is what it
   * takes. Returns false if held bytes are in the way: try again after a
   * release. `pending + need` must not exceed the capacity.
   */
  reserve(need: number): boolean {
    const pending = this.tail - this.cursor;
    if (need < 1 || pending + need > this.capacity) {
      throw new RingError(`reserve of ${need} more bytes after ${pending} pending does not fit the ring capacity ${this.capacity}`);
    }
    if (this.writable >= need) return true;
    if (this.wrapEnd >= 0) return false; // wait for the older segment to drain
    if (this.head === this.cursor) {
      // Nothing held: slide the pending bytes to the front (free when there are none).
      this.moveTo(0, pending);
      this.head = 0;
      return true;
    }
    if (this.head >= pending + need) {
      // Held bytes stay where they are; the newer segment starts at 0.
      this.wrapEnd = this.cursor;
      this.moveTo(0, pending);
      return true;
    }
    return false;
  }

  private moveTo(to: number, pending: number): void {
    if (pending > 0) {
      this.buffer.copyWithin(to, this.cursor, this.tail);
      this.moves++;
      this.movedBytes += pending;
    }
    this.cursor = to;
    this.tail = to + pending;
  }

  /** Forget everything (the ring goes back to a pool). */
  reset(): void {
    this.head = this.cursor = this.tail = 0;
    this.wrapEnd = -1;
  }
}
