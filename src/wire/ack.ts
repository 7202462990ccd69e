/**
 * The ACK frame (docs/protocol.md, Acknowledgements): server to producer, an
 * ordinary PKT v1 frame with empty ids, no extensions and an 8-byte count.
 *
 *   0       4   5     6      8      12       16          24  25  26              34
 *   +-------+---+-----+------+------+--------+-----------+---+---+---------------+------------------+
 *   | magic | 1 |flags|  26  | 8+r  | crc32  | timestamp |\0 |\0 | committed u64 | reason (r bytes) |
 *   +-------+---+-----+------+------+--------+-----------+---+---+---------------+------------------+
 *             flags: 0x20 ACK, 0x60 ACK+FINAL (then a reason follows, UTF-8, no terminator)
 *
 * Written by hand rather than through encodeFrameInto: the ACK writer calls
 * this once per coalesced ACK into a buffer it reuses, so it takes numbers
 * only (no FrameInput object, no BigInt) and reasons are ASCII names.
 */
import { crc32Js } from './crc32.js';
import {
  Flags,
  MAGIC_U32,
  MIN_HEADER_LEN,
  OFFSET_CHECKSUM,
  OFFSET_FLAGS,
  OFFSET_HEADER_LEN,
  OFFSET_PAYLOAD_LEN,
  OFFSET_TIMESTAMP,
  OFFSET_VERSION,
  VERSION,
} from './constants.js';
import type { FrameErrorReason } from './reasons.js';
import { readU64, writeU64 } from './u64.js';

/** Why a server ends an ack-mode connection (the FINAL frame's reason). */
export type FinalReason = FrameErrorReason | 'draining' | 'idle_timeout' | 'handler_error' | 'server_error';

/** The committed count field. */
export const ACK_COUNT_BYTES = 8;
/** An ACK without a reason: 26-byte header + the count. */
export const ACK_FRAME_BYTES = MIN_HEADER_LEN + ACK_COUNT_BYTES;
/** Longest reason pkt-ingest sends (`unterminated_string`), rounded up. */
export const MAX_FINAL_REASON_BYTES = 32;

/** Wire bytes of an ACK frame carrying `reason` (null: a plain ACK). */
export function ackFrameLength(reason: string | null): number {
  return ACK_FRAME_BYTES + (reason === null ? 0 : Buffer.byteLength(reason, 'utf8'));
}

/**
 * Writes an ACK (reason null) or ACK + FINAL frame for `committed` frames
 * into `target` at `offset`; returns the bytes written. `committed` and
 * `timestampMicros` are non-negative safe integers (checked by the caller:
 * this is called with the server's own numbers).
 */
export function encodeAck(
  committed: number,
  reason: string | null,
  timestampMicros: number,
  target: Buffer,
  offset = 0,
): number {
  const payloadStart = offset + MIN_HEADER_LEN;
  let payloadLength = ACK_COUNT_BYTES;
  if (reason !== null) payloadLength += target.write(reason, payloadStart + ACK_COUNT_BYTES, 'utf8');
  target.writeUInt32LE(MAGIC_U32, offset);
  target[offset + OFFSET_VERSION] = VERSION;
  target[offset + OFFSET_FLAGS] = reason === null ? Flags.ACK : Flags.ACK | Flags.FINAL;
  target.writeUInt16LE(MIN_HEADER_LEN, offset + OFFSET_HEADER_LEN);
  target.writeUInt32LE(payloadLength, offset + OFFSET_PAYLOAD_LEN);
  writeU64(target, offset + OFFSET_TIMESTAMP, timestampMicros);
  target[offset + MIN_HEADER_LEN - 2] = 0; // empty source id
  target[offset + MIN_HEADER_LEN - 1] = 0; // empty dest id
  writeU64(target, payloadStart, committed);
  target.writeUInt32LE(crc32Js(target, payloadStart, payloadStart + payloadLength), offset + OFFSET_CHECKSUM);
  return MIN_HEADER_LEN + payloadLength;
}

/** An ACK frame's payload, read. */
export interface AckPayload {
  /** Frames of the connection committed so far. */
  committed: number;
  /** With FINAL: why the server closes (UTF-8 as sent); null for a plain ACK. */
  reason: string | null;
}

/**
 * Reads the payload buf[start, end) of a frame whose flags had ACK set.
 * `final` is the frame's FINAL bit. Returns null when the payload is not an
 * ACK's: shorter than the count, a count past 2^53 - 1, or bytes after the
 * count of a plain ACK.
 */
export function parseAckPayload(buf: Buffer, start: number, end: number, final: boolean): AckPayload | null {
  if (end - start < ACK_COUNT_BYTES) return null;
  const committed = readU64(buf, start);
  if (committed < 0) return null;
  const reasonStart = start + ACK_COUNT_BYTES;
  if (!final) return reasonStart === end ? { committed, reason: null } : null;
  return { committed, reason: buf.toString('utf8', reasonStart, end) };
}

/** True when a frame's flags byte marks an ACK (from a server). */
export function isAckFlags(flags: number): boolean {
  return (flags & Flags.ACK) !== 0;
}

/** True when a frame's flags byte carries FINAL with ACK. */
export function isFinalFlags(flags: number): boolean {
  return (flags & (Flags.ACK | Flags.FINAL)) === (Flags.ACK | Flags.FINAL);
}
