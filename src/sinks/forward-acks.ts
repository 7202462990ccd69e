/**
 * Forward with `"acks": true`: what a relayed batch becomes before it is
 * written, and where a partly acknowledged batch resumes.
 *
 * The batch's segments are views of the server's rings, which the capture
 * handler (or any other) may be reading at the same moment: the flags byte
 * is never patched in place. Instead each batch is copied once, when it is
 * handed to the socket, with ACK_REQUEST OR-ed into every frame's flags
 * (offset 5; the CRC covers only the payload, so nothing else changes).
 * The copy is what is written and what stays for a resend until the
 * target's ACK covers it; the ring bytes are released as soon as the copy
 * is written, as without acks.
 *
 * ForwardAcks keeps the per-target-connection counts: frames written on
 * the current socket and how many its ACKs covered (a new socket counts
 * from 1 again and starts with the oldest unacknowledged batch).
 */
import { Flags, OFFSET_FLAGS, OFFSET_HEADER_LEN, OFFSET_PAYLOAD_LEN } from '../wire/constants.js';
import { countFrames } from './capture-frames.js';

/** An owned copy of whole-frame `segments` with ACK_REQUEST set on each frame. */
export function stampedCopy(segments: readonly Buffer[], bytes: number): { copy: Buffer; frames: number } {
  const copy = Buffer.allocUnsafe(bytes);
  let at = 0;
  for (const segment of segments) {
    copy.set(segment, at);
    at += segment.length;
  }
  let frames = 0;
  for (let p = 0; p < bytes; p += frameLength(copy, p)) {
    copy[p + OFFSET_FLAGS] |= Flags.ACK_REQUEST;
    frames++;
  }
  return { copy, frames };
}

/** Byte offset of frame number `k` (0-based) in whole-frame bytes. */
export function frameOffset(bytes: Buffer, k: number): number {
  let p = 0;
  for (let i = 0; i < k; i++) p += frameLength(bytes, p);
  return p;
}

function frameLength(bytes: Buffer, p: number): number {
  // Frames came through the server's decoder: the lengths are valid.
  return bytes.readUInt16LE(p + OFFSET_HEADER_LEN) + bytes.readUInt32LE(p + OFFSET_PAYLOAD_LEN);
}

/** Ack mode: `frames` more frames of a batch (of `total`) were acknowledged by the target. */
export type OnAcked = (frames: number, total: number) => void;

/** What ForwardAcks needs of a queued batch. */
export interface AckedBatch {
  /** Ring views until first written; then [the stamped copy]. */
  segments: Buffer[];
  readonly bytes: number;
  readonly onAcked: OnAcked | null;
  /** Frames in the batch (0 until stamped), and how many the target acknowledged. */
  frames: number;
  acked: number;
}

export class ForwardAcks {
  /** Frames the target acknowledged, and ACK + FINAL frames it sent (stats). */
  framesAcked = 0;
  finals = 0;
  /** Frames written, and acknowledged, on the current socket. */
  private connFrames = 0;
  private connAcked = 0;

  newConnection(): void {
    this.connFrames = this.connAcked = 0;
  }

  /** The bytes to write for `batch` now: its stamped copy (made once), from its first unacknowledged frame. */
  stamped(batch: AckedBatch): Buffer {
    if (batch.frames === 0) {
      const { copy, frames } = stampedCopy(batch.segments, batch.bytes);
      batch.segments = [copy]; // drops the ring views: only the copy is written from now on
      batch.frames = frames;
    }
    const copy = batch.segments[0];
    this.connFrames += batch.frames - batch.acked;
    return batch.acked === 0 ? copy : copy.subarray(frameOffset(copy, batch.acked));
  }

  /**
   * The target acknowledged `committed` frames of the current socket.
   * Tells each covered batch (onAcked) and returns how many batches at the
   * head of `queue` are now wholly acknowledged, or -1 for a count past
   * what was written.
   */
  ack(queue: readonly AckedBatch[], committed: number): number {
    if (committed > this.connFrames) return -1;
    let n = committed - this.connAcked;
    if (n <= 0) return 0;
    this.connAcked = committed;
    this.framesAcked += n;
    let done = 0;
    while (n > 0) {
      const batch = queue[done];
      const take = Math.min(n, batch.frames - batch.acked);
      batch.acked += take;
      n -= take;
      batch.onAcked?.(take, batch.frames);
      if (batch.acked < batch.frames) break;
      done++;
    }
    return done;
  }
}

/** What ForwardConnection.close() could not hand to the target before its deadline. */
export interface ForwardCloseResult {
  readonly unforwardedFrames: number;
  readonly unforwardedBytes: number;
}

/** The frames of batches left at close (stamped, in ack mode: those the target did not acknowledge). */
export function unforwarded(batches: readonly AckedBatch[]): ForwardCloseResult {
  let unforwardedFrames = 0;
  let unforwardedBytes = 0;
  for (const b of batches) {
    unforwardedBytes += b.bytes;
    unforwardedFrames += b.frames > 0 ? b.frames - b.acked : countFrames(b.segments);
  }
  return { unforwardedFrames, unforwardedBytes };
}
