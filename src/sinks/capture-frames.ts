/**
 * Frame boundaries inside an append, for rotation at frame granularity.
 *
 * An append's segments hold whole, validated frames back to back (a frame
 * may even straddle two segments). A frame's length comes from its header:
 *
 *   offset 0     4     6            8                 12
 *          | magic | ver.. | header_len u16 | payload_len u32 | ...
 *                          '---- both little endian ----'
 *   frame length = header_len + payload_len
 *
 * Only an append that crosses rotateBytes (or one left unwritten at close)
 * is walked, so the hot path never pays for this. Stateless functions.
 */
import { CaptureError } from '../errors.js';

const HEADER_LEN_AT = 6;
const PAYLOAD_LEN_AT = 8;
const MIN_FRAME_BYTES = 12;

/** Reads the byte at `at` of the logical stream `segments[i..]` starting at segment offset `offset`. */
function byteAt(segments: readonly Buffer[], i: number, offset: number, at: number): number {
  let pos = offset + at;
  while (pos >= segments[i].length) {
    pos -= segments[i].length;
    i++;
  }
  return segments[i][pos];
}

/** Calls `each(length)` for every frame; stops when it returns false. */
function walkFrames(segments: readonly Buffer[], each: (frameLength: number) => boolean): void {
  let i = 0;
  let offset = 0; // within segments[i]
  while (i < segments.length) {
    if (offset >= segments[i].length) {
      offset -= segments[i].length;
      i++;
      continue;
    }
    const b = (k: number): number => byteAt(segments, i, offset, k);
    const headerLength = b(HEADER_LEN_AT) | (b(HEADER_LEN_AT + 1) << 8);
    const payloadLength = (b(PAYLOAD_LEN_AT) | (b(PAYLOAD_LEN_AT + 1) << 8) | (b(PAYLOAD_LEN_AT + 2) << 16)) + b(PAYLOAD_LEN_AT + 3) * 2 ** 24;
    const length = headerLength + payloadLength;
    // Segments hold validated frames; a zero length would loop forever, so fail loudly instead.
    if (length < MIN_FRAME_BYTES) throw new CaptureError(`capture append does not hold whole frames (length ${length})`);
    if (!each(length)) return;
    offset += length;
  }
}

/**
 * Bytes of the leading whole frames that fit in `room`; with `atLeastOne`,
 * the first frame even if it alone is larger (an empty file takes it).
 */
export function wholeFramesWithin(segments: readonly Buffer[], room: number, atLeastOne: boolean): number {
  let bytes = 0;
  let frames = 0;
  walkFrames(segments, (length) => {
    if (bytes + length > room && !(atLeastOne && frames === 0)) return false;
    bytes += length;
    frames++;
    return true;
  });
  return bytes;
}

/** Frames in the segments (close() reports the frames it could not write). */
export function countFrames(segments: readonly Buffer[]): number {
  let frames = 0;
  walkFrames(segments, () => {
    frames++;
    return true;
  });
  return frames;
}

/** The first `bytes` of the segments and the rest, as views (no copy). */
export function splitSegments(segments: readonly Buffer[], bytes: number): [Buffer[], Buffer[]] {
  const head: Buffer[] = [];
  let i = 0;
  let left = bytes;
  while (left > 0 && i < segments.length) {
    const s = segments[i];
    if (s.length <= left) {
      head.push(s);
      left -= s.length;
      i++;
    } else {
      head.push(s.subarray(0, left));
      return [head, [s.subarray(left), ...segments.slice(i + 1)]];
    }
  }
  return [head, segments.slice(i)];
}
