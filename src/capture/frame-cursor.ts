/**
 * One frame at a time out of a byte stream read into a ring: the pull side
 * of the server's decoder, for readers of files (capture, inspect, dump).
 *
 *   file --read into region()--> ring [held | pending | writable]
 *   decode() a batch --> queue of frame positions (numbers, no objects)
 *   next(): release the previous frame, refill the view from the queue
 *
 * The decoder is the server's (same checks, same PacketView); it pushes
 * frames, so a batch of them (at most QUEUE_FRAMES, as the decode is
 * bounded to QUEUE_FRAMES minimal frames of bytes) is recorded as
 * positions and handed out one by one in the decoder's own view: one
 * decode() call per batch, not per frame. The ids' cache generations are
 * recorded too, so a view whose id changed later in the batch decodes it
 * from its own bytes. A frame's bytes stay held (untouched) until the
 * following next(): that is the lifetime rule of the reader.
 * A frame larger than the ring gets its own buffer, dropped at the next
 * step. Owns its ring and decoder; `restart()` starts a new stream (file).
 */
import { FrameDecoder, type DecoderLimits, type FrameSink } from '../frame/frame-decoder.js';
import type { PacketView } from '../frame/packet-view.js';
import type { Ring } from '../ring/ring.js';
import { MIN_HEADER_LEN } from '../wire/constants.js';
import type { FrameErrorReason } from '../wire/reasons.js';

/** Reads below this are not worth it: slide the partial frame to the front instead. */
const MIN_READ = 256 * 1024;

const noFrames: FrameSink = { onFrame() {} };

/** Frames decoded per batch at most; fields recorded per frame. */
const QUEUE_FRAMES = 4096;
const FIELDS = 11;

export class FrameCursor {
  decoder: FrameDecoder;
  private readonly ring: Ring;
  private readonly limits: DecoderLimits;
  /** A frame larger than the ring, gathered on its own. */
  private big: Buffer | null = null;
  private bigFill = 0;
  private bigDelivered = false;
  /** Positions of decoded frames not yet handed out: [qHead, qLen). */
  private readonly queue = new Float64Array(QUEUE_FRAMES * FIELDS);
  private qHead = 0;
  private qLen = 0;
  /** Bytes of the frame handed out last, released at the next step. */
  private handedOut = 0;
  private readonly collector: FrameSink = {
    onFrame: (v: PacketView): void => {
      const q = this.queue;
      const o = this.qLen++ * FIELDS;
      q[o] = v.frameStart;
      q[o + 1] = v.frameLength;
      q[o + 2] = v.headerLength;
      q[o + 3] = v.payloadLength;
      q[o + 4] = v.offset;
      q[o + 5] = v.sourceStart;
      q[o + 6] = v.sourceEnd;
      q[o + 7] = v.destStart;
      q[o + 8] = v.destEnd;
      q[o + 9] = v.sourceGeneration;
      q[o + 10] = v.destGeneration;
    },
  };

  constructor(ring: Ring, limits: DecoderLimits) {
    this.ring = ring;
    this.limits = limits;
    this.decoder = new FrameDecoder(limits);
  }

  /** A new stream: offsets from 0, nothing pending. */
  restart(): void {
    this.ring.reset();
    this.qHead = this.qLen = this.handedOut = 0;
    this.big = null;
    this.bigDelivered = false;
    this.decoder = new FrameDecoder(this.limits);
  }

  /** Bytes read but not yet decoded (a partial frame at end of input is `truncated`). */
  get pending(): number {
    return this.big !== null && !this.bigDelivered ? this.bigFill : this.ring.pending + this.queued();
  }

  /** Bytes of decoded frames not yet handed out. */
  private queued(): number {
    let n = 0;
    for (let i = this.qHead; i < this.qLen; i++) n += this.queue[i * FIELDS + 1];
    return n;
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
    if (this.handedOut > 0) {
      ring.release(this.handedOut); // the previous frame's lifetime ends here
      this.handedOut = 0;
    }
    if (this.qHead < this.qLen) return this.pop();
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
    const start = ring.cursor;
    if (ring.tail === start) return null;
    this.qHead = this.qLen = 0;
    // At most QUEUE_FRAMES frames per batch; but a frame longer than that bound gets its whole length.
    let end = Math.min(ring.tail, start + Math.max(QUEUE_FRAMES * MIN_HEADER_LEN, decoder.need));
    let n = decoder.decode(ring.buffer, start, end, this.collector);
    if (n === 0 && decoder.error === null && end < ring.tail && decoder.need > end - start) {
      end = Math.min(ring.tail, start + decoder.need);
      n = decoder.decode(ring.buffer, start, end, this.collector);
    }
    ring.consume(n);
    if (this.qLen > 0) return this.pop();
    if (decoder.error === null && decoder.frameLength > ring.capacity) this.startBig();
    return null;
  }

  /** The next queued frame, in the decoder's view. */
  private pop(): PacketView {
    const q = this.queue;
    const o = this.qHead++ * FIELDS;
    const view = this.decoder.view;
    view.buffer = this.ring.buffer;
    view.frameStart = q[o];
    view.frameLength = q[o + 1];
    view.headerLength = q[o + 2];
    view.payloadLength = q[o + 3];
    view.offset = q[o + 4];
    view.sourceStart = q[o + 5];
    view.sourceEnd = q[o + 6];
    view.destStart = q[o + 7];
    view.destEnd = q[o + 8];
    view.sourceGeneration = q[o + 9];
    view.destGeneration = q[o + 10];
    this.handedOut = view.frameLength;
    return view;
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
