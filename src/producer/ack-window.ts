/**
 * The producer's window of unacknowledged frames (ack mode, docs/protocol.md
 * Acknowledgements). Chunks taken from the OutboundQueue stay here, their
 * slab regions held, until an ACK covers every frame in them; after a
 * reconnect the whole window is written again, in order, first.
 *
 *   lengths: one entry per frame sent and not acknowledged (queued ones too)
 *   chunks:  [ head chunk (skip bytes acked) | written ... | written ]
 *                                                             ^ the current
 *   connection counts its frames from 1: connWritten, connAcked
 *
 * An ACK for `count` on the current connection acknowledges the first
 * count frames written on it; since every connection starts by resending
 * the window from its first unacknowledged frame, those are exactly the
 * window's oldest (count - connAcked) frames. Owner: the Producer. At close
 * the window is discarded and its bytes reported undelivered.
 */
import { randomBytes } from 'node:crypto';
import { Flags } from '../wire/constants.js';
import type { FrameStamp } from '../wire/encode.js';
import type { Chunk, OutboundQueue } from './outbound-queue.js';
import { NumberQueue } from './number-queue.js';
import { forEachRawFrame } from './raw-frames.js';

export class AckWindow {
  /** What send() adds to each frame: ACK_REQUEST, this producer's id, the next sequence number. */
  readonly stamp: FrameStamp = { flags: Flags.ACK_REQUEST, producerId: randomBytes(16), sequence: 0 };
  /** Frames and bytes sent (accepted by send) and not acknowledged. */
  frames = 0;
  bytes = 0;
  /** Frames acknowledged, and written again after a reconnect (stats). */
  acked = 0;
  resent = 0;
  /** Frames written, and acknowledged, on the current connection. */
  connWritten = 0;
  connAcked = 0;
  private readonly lengths = new NumberQueue();
  private chunks: Chunk[] = [];
  private head = 0;
  /** Bytes of chunks[head] already acknowledged. */
  private skip = 0;
  /** Frames of chunks[head] already acknowledged. */
  private skipFrames = 0;

  constructor(private readonly queue: OutboundQueue) {}

  /** A frame of `length` bytes was accepted by send() (stamped with the current sequence). */
  sent(length: number): void {
    this.stamp.sequence++;
    this.lengths.push(length);
    this.frames++;
    this.bytes += length;
  }

  /** The frames in sendRaw() bytes; throws ('invalid_frames') unless they are whole frames. */
  checkRaw(bytes: Buffer, address: string): number {
    return forEachRawFrame(bytes, address, () => {});
  }

  /** sendRaw() bytes (checked) were accepted; they carry their own stamps, if any. */
  sentRaw(bytes: Buffer): void {
    forEachRawFrame(bytes, '', (length) => {
      this.lengths.push(length);
      this.frames++;
      this.bytes += length;
    });
  }

  /** A chunk goes to the current connection; it stays until acknowledged. */
  written(chunk: Chunk): void {
    this.chunks.push(chunk);
    this.connWritten += chunk.frames;
  }

  /**
   * A new connection: everything unacknowledged is to be written again.
   * Returns the views to write, oldest first (none if the window is empty).
   */
  rewind(): Buffer[] {
    this.resent += this.connWritten - this.connAcked;
    this.connAcked = 0;
    const out: Buffer[] = [];
    let frames = 0;
    for (let i = this.head; i < this.chunks.length; i++) {
      const chunk = this.chunks[i];
      out.push(i === this.head && this.skip > 0 ? chunk.bytes.subarray(this.skip) : chunk.bytes);
      frames += chunk.frames - (i === this.head ? this.skipFrames : 0);
    }
    this.connWritten = frames;
    return out;
  }

  /**
   * The server acknowledged `count` frames of the current connection.
   * Returns the frames newly acknowledged, or -1 if `count` is more than
   * were written on it (a broken server: the caller drops the connection).
   */
  ack(count: number): number {
    if (count > this.connWritten) return -1;
    const n = count - this.connAcked;
    if (n <= 0) return 0;
    this.connAcked = count;
    let bytes = 0;
    for (let i = 0; i < n; i++) bytes += this.lengths.shift();
    this.frames -= n;
    this.bytes -= bytes;
    this.acked += n;
    this.release(bytes, n);
    return n;
  }

  /** Drops everything (close): returns the unacknowledged bytes. */
  discard(): number {
    const bytes = this.bytes;
    for (let i = this.head; i < this.chunks.length; i++) this.queue.release(this.chunks[i]);
    this.chunks = [];
    this.head = this.skip = this.skipFrames = 0;
    this.lengths.clear();
    this.frames = this.bytes = 0;
    return bytes;
  }

  /** Frees whole chunks covered by `bytes` (and `frames`) more acknowledged at the head. */
  private release(bytes: number, frames: number): void {
    while (bytes > 0 || frames > 0) {
      const chunk = this.chunks[this.head];
      const restBytes = chunk.bytes.length - this.skip;
      const restFrames = chunk.frames - this.skipFrames;
      if (bytes < restBytes) {
        this.skip += bytes;
        this.skipFrames += frames;
        return;
      }
      bytes -= restBytes;
      frames -= restFrames;
      this.queue.release(chunk);
      this.head++;
      this.skip = this.skipFrames = 0;
    }
    if (this.head === this.chunks.length) {
      this.chunks.length = this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.chunks.length) {
      this.chunks.splice(0, this.head);
      this.head = 0;
    }
  }
}
