/**
 * One frame at a time out of a byte stream read into a ring: the pull side
 * of the server's decoder, for readers of files (capture, inspect, dump).
 *
 *   file --read into region()--> ring [held | pending | writable]
 *   next(): release the previous frame, decode exactly one frame -> view
 *
 * The decoder is the server's (same checks, same PacketView); it pushes
 * frames, so next() bounds each decode() to the next frame's length to get
 * exactly one. The last frame handed out stays held (its bytes untouched)
 * until the following next(): that is the lifetime rule of the reader.
 * A frame larger than the ring gets its own buffer, dropped at the next
 * step. Owns its ring and decoder; `restart()` starts a new stream (file).
 */
import { FrameDecoder, type DecoderLimits, type FrameSink } from '../frame/frame-decoder.js';
import type { PacketView } from '../frame/packet-view.js';
import type { Ring } from '../ring/ring.js';
import { FIXED_HEADER_BYTES, OFFSET_HEADER_LEN, OFFSET_PAYLOAD_LEN } from '../wire/constants.js';
import type { FrameErrorReason } from '../wire/reasons.js';

/** Reads below this are not worth it: slide the partial frame to the front instead. */
const MIN_READ = 256 * 1024;

const noFrames: FrameSink = { onFrame() {} };

export class FrameCursor {
  decoder: FrameDecoder;
  private readonly ring: Ring;
  private readonly limits: DecoderLimits;
  /** A frame larger than the ring, gathered on its own. */
  private big: Buffer | null = null;
  private bigFill = 0;
  private bigDelivered = false;

  constructor(ring: Ring, limits: DecoderLimits) {
    this.ring = ring;
    this.limits = limits;
    this.decoder = new FrameDecoder(limits);
  }

  /** A new stream: offsets from 0, nothing pending. */
  restart(): void {
    this.ring.reset();
    this.big = null;
    this.bigDelivered = false;
    this.decoder = new FrameDecoder(this.limits);
  }

  /** Bytes read but not yet decoded (a partial frame at end of input is `truncated`). */
  get pending(): number {
    return this.big !== null && !this.bigDelivered ? this.bigFill : this.ring.pending;
  }

  /** Stream offset of the next frame. */
  get offset(): number {
    return this.decoder.offset;
  }

  /**
   * The next frame, or null when more bytes are needed (read into region(),
   * then landed()). On a bad frame it returns null with `error` set.
   */
  next(): PacketView | null {
    const ring = this.ring;
    if (ring.held > 0) ring.release(ring.held); // the previous frame's lifetime ends here
    if (this.bigDelivered) {
      this.big = null;
      this.bigDelivered = false;
    }
    const decoder = this.decoder;
    if (this.big !== null) {
      if (this.bigFill < this.big.length) return null;
      const n = decoder.decode(this.big, 0, this.big.length, noFrames);
      if (n === 0) return null; // error set
      this.bigDelivered = true;
      return decoder.view;
    }
    const buf = ring.buffer;
    const start = ring.cursor;
    const avail = ring.tail - start;
    if (avail === 0) return null;
    let end = ring.tail;
    if (avail >= OFFSET_PAYLOAD_LEN + 4) {
      // Bound the decode to one frame (at least a head, so a bad length is judged, not waited on).
      const length = buf.readUInt16LE(start + OFFSET_HEADER_LEN) + buf.readUInt32LE(start + OFFSET_PAYLOAD_LEN);
      end = Math.min(end, start + Math.max(length, FIXED_HEADER_BYTES));
    }
    const n = decoder.decode(buf, start, end, noFrames);
    ring.consume(n);
    if (n > 0) return decoder.view;
    if (decoder.error === null && decoder.frameLength > ring.capacity) this.startBig();
    return null;
  }

  /** Why the last next() stopped, or null. */
  get error(): FrameErrorReason | null {
    return this.decoder.error;
  }

  /** After an error: skip the bad frame (checksum) or to the next magic (framing), and go on. */
  skipError(): void {
    const decoder = this.decoder;
    if (this.big !== null) {
      // Lengths were sane (it got this far): a checksum error skips the whole frame.
      decoder.skipFrame();
      this.big = null;
      return;
    }
    const ring = this.ring;
    const skip = decoder.error === 'crc_mismatch' ? decoder.skipFrame() : decoder.resync(ring.buffer, ring.cursor, ring.tail);
    ring.consume(Math.min(skip, ring.pending));
    ring.release(ring.held);
  }

  /** Where the next read should land; call only after next() returned null without an error. */
  region(): Buffer {
    if (this.big !== null) return this.big.subarray(this.bigFill);
    const ring = this.ring;
    const pending = ring.pending;
    const need = Math.max(1, this.decoder.need - pending);
    ring.reserve(Math.min(ring.capacity - pending, Math.max(need, MIN_READ)));
    return ring.buffer.subarray(ring.tail, ring.tail + ring.writable);
  }

  /** `n` bytes landed in the last region(). */
  landed(n: number): void {
    if (this.big !== null) this.bigFill += n;
    else this.ring.commit(n);
  }

  private startBig(): void {
    const ring = this.ring;
    const big = Buffer.allocUnsafeSlow(this.decoder.frameLength);
    const prefix = ring.pending;
    ring.buffer.copy(big, 0, ring.cursor, ring.tail);
    ring.consume(prefix);
    ring.release(ring.held);
    this.big = big;
    this.bigFill = prefix;
  }
}
