/**
 * The reference decoder: docs/protocol.md read literally, over a whole stream held
 * in memory. Slow and simple on purpose, and independent of src/frame: no
 * state machine, no ring, no id cache; CRC-32 from the `crc-32` package and
 * UTF-8 from a fatal TextDecoder instead of our own implementations.
 *
 * For each frame start it asks the docs/protocol.md questions in order, each only
 * once the bytes it needs are there; if the stream ends before a question
 * can be answered (and every earlier one passed) the frame is `truncated`.
 * The stream-level loop applies the error policy exactly as docs/protocol.md (Validation)
 * words it.
 */
import CRC32 from 'crc-32';
import type { DecoderLimits } from '../../src/frame/frame-decoder.js';
import type { ErrorPolicy } from '../../src/frame/frame-reader.js';
import type { FrameErrorReason } from '../../src/wire/reasons.js';

const MAGIC = [0x50, 0x4b, 0x54, 0x00];
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export interface ModelFrame {
  offset: number;
  length: number;
  sourceId: string;
  destId: string;
}

export interface ModelError {
  reason: FrameErrorReason;
  offset: number;
  /** After a resync: where the scan for the next magic stopped. */
  resumedAt?: number;
}

export interface ModelResult {
  frames: ModelFrame[];
  /** In stream order; under a `close` policy at most one (the last event). */
  errors: ModelError[];
}

type Judgement =
  | { ok: true; length: number; sourceId: string; destId: string }
  | { ok: false; reason: FrameErrorReason; length: number };

const u16 = (s: Uint8Array, at: number): number => s[at] | (s[at + 1] << 8);
const u32 = (s: Uint8Array, at: number): number => (s[at] | (s[at + 1] << 8) | (s[at + 2] << 16) | (s[at + 3] << 24)) >>> 0;

function bad(reason: FrameErrorReason, length = 0): Judgement {
  return { ok: false, reason, length };
}

function decodeUtf8(bytes: Uint8Array): string | null {
  try {
    return utf8.decode(bytes);
  } catch {
    return null;
  }
}

/** What docs/protocol.md says of the frame starting at `p` in the stream `s` (which ends where `s` ends). */
export function judgeFrameAt(s: Uint8Array, p: number, limits: DecoderLimits): Judgement {
  const has = (n: number): boolean => s.length - p >= n;
  for (let k = 0; k < 4; k++) {
    if (!has(k + 1)) return bad('truncated');
    if (s[p + k] !== MAGIC[k]) return bad('bad_magic');
  }
  if (!has(5)) return bad('truncated');
  if (s[p + 4] !== 1) return bad('unsupported_version');
  if (!has(8)) return bad('truncated');
  const headerLen = u16(s, p + 6);
  if (headerLen < 26 || headerLen > limits.maxHeaderBytes) return bad('bad_header_len');
  if (!has(12)) return bad('truncated');
  const payloadLen = u32(s, p + 8);
  if (payloadLen > limits.maxPayloadBytes) return bad('frame_too_large');
  if (!has(headerLen)) return bad('truncated');

  const header = s.subarray(p, p + headerLen);
  const sourceEnd = header.indexOf(0, 24);
  if (sourceEnd < 0) return bad('unterminated_string');
  const destEnd = header.indexOf(0, sourceEnd + 1);
  if (destEnd < 0) return bad('unterminated_string');
  const sourceId = decodeUtf8(header.subarray(24, sourceEnd));
  if (sourceId === null) return bad('invalid_utf8');
  const destId = decodeUtf8(header.subarray(sourceEnd + 1, destEnd));
  if (destId === null) return bad('invalid_utf8');
  for (let q = destEnd + 1; q < headerLen; ) {
    if (headerLen - q < 3) return bad('bad_extension');
    q += 3 + u16(header, q + 1);
    if (q > headerLen) return bad('bad_extension');
  }

  const length = headerLen + payloadLen;
  if (!has(length)) return bad('truncated');
  const payload = s.subarray(p + headerLen, p + length);
  if (CRC32.buf(payload) >>> 0 !== u32(s, p + 12)) return bad('crc_mismatch', length);
  return { ok: true, length, sourceId, destId };
}

/**
 * The next frame start a resync may stop at, from `from` on: four magic
 * bytes, or a prefix of them that runs into the end of the stream.
 */
export function nextCandidate(s: Uint8Array, from: number): number {
  for (let i = from; i < s.length; i++) {
    let k = 0;
    while (k < 4 && i + k < s.length && s[i + k] === MAGIC[k]) k++;
    if (k === 4 || i + k === s.length) return i;
  }
  return s.length;
}

/** The flags byte's ACK_REQUEST bit (docs/protocol.md, Acknowledgements). */
const ACK_REQUEST = 0x10;

/**
 * Every frame and error a correct server reports for the stream `s`, ended
 * by the producer. With `acks` (a live server): from the first valid frame
 * with ACK_REQUEST on, the connection is in ack mode, where every frame
 * error ends it whatever the policy.
 */
export function modelDecode(s: Uint8Array, limits: DecoderLimits, policy: ErrorPolicy, acks = false): ModelResult {
  const frames: ModelFrame[] = [];
  const errors: ModelError[] = [];
  let p = 0;
  while (p < s.length) {
    const j = judgeFrameAt(s, p, limits);
    if (j.ok) {
      frames.push({ offset: p, length: j.length, sourceId: j.sourceId, destId: j.destId });
      if (acks && (s[p + 5] & ACK_REQUEST) !== 0) policy = { onFrameError: 'close', onChecksumError: 'close' };
      p += j.length;
      continue;
    }
    const error: ModelError = { reason: j.reason, offset: p };
    errors.push(error);
    if (j.reason === 'truncated') break;
    if (j.reason === 'crc_mismatch') {
      if (policy.onChecksumError === 'close') break;
      p += j.length; // framing survives: skip exactly that frame
      continue;
    }
    if (policy.onFrameError === 'close') break;
    p = error.resumedAt = nextCandidate(s, p + 1); // docs/protocol.md: one byte after that frame's start
  }
  return { frames, errors };
}
