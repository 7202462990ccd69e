/**
 * Frame encoder: writes one PKT v1 frame into a caller's buffer, or a new one.
 * Used by the producer client, the load tools and the tests.
 */
import { EncodeError } from '../errors.js';
import { crc32 } from './crc32.js';
import {
  EXTENSION_HEADER_BYTES,
  FIXED_HEADER_BYTES,
  MAGIC_U32,
  MAX_HEADER_LEN,
  MAX_PAYLOAD_LEN,
  OFFSET_CHECKSUM,
  OFFSET_FLAGS,
  OFFSET_HEADER_LEN,
  OFFSET_PAYLOAD_LEN,
  OFFSET_TIMESTAMP,
  OFFSET_VERSION,
  VERSION,
} from './constants.js';
import { SEQUENCE_RECORD_BYTES, writeSequenceRecord } from './sequence.js';

export interface ExtensionRecord {
  /** u8 record type (see ExtensionType). */
  type: number;
  /** Record value, at most 65535 bytes. */
  value: Uint8Array;
}

export interface FrameInput {
  sourceId: string | Uint8Array;
  destId: string | Uint8Array;
  payload: Uint8Array;
  /** Microseconds since the Unix epoch; default 0. */
  timestamp?: number | bigint;
  /** Default 0. */
  flags?: number;
  /** Default 1. Other values only to produce invalid frames in tests. */
  version?: number;
  extensions?: readonly ExtensionRecord[];
  /** Override the computed CRC-32 (to produce a corrupt frame on purpose). */
  checksum?: number;
}

/**
 * What a producer in ack mode adds to each frame without building a new
 * FrameInput: flag bits OR-ed in (ACK_REQUEST) and a `sequence` record
 * after the frame's own extensions. Reused across frames by its owner.
 */
export interface FrameStamp {
  flags: number;
  producerId: Uint8Array;
  sequence: number;
}

function idByteLength(id: string | Uint8Array): number {
  return typeof id === 'string' ? Buffer.byteLength(id, 'utf8') : id.length;
}

/** Header bytes of a frame: fixed fields, both ids with terminators, extensions. */
export function encodedHeaderLength(frame: FrameInput): number {
  let len = FIXED_HEADER_BYTES + idByteLength(frame.sourceId) + 1 + idByteLength(frame.destId) + 1;
  if (frame.extensions) for (const ext of frame.extensions) len += EXTENSION_HEADER_BYTES + ext.value.length;
  return len;
}

/** Total wire bytes of a frame (with `stamp`: its sequence record included). */
export function encodedLength(frame: FrameInput, stamp: FrameStamp | null = null): number {
  return encodedHeaderLength(frame) + (stamp === null ? 0 : SEQUENCE_RECORD_BYTES) + frame.payload.length;
}

function writeId(target: Buffer, at: number, id: string | Uint8Array): number {
  const n = typeof id === 'string' ? target.write(id, at, 'utf8') : (target.set(id, at), id.length);
  target[at + n] = 0;
  return at + n + 1;
}

/**
 * Encodes `frame` into `target` at `offset`; returns the bytes written.
 * Throws EncodeError if the frame breaks the format or does not fit.
 */
export function encodeFrameInto(frame: FrameInput, target: Buffer, offset = 0, stamp: FrameStamp | null = null): number {
  const headerLen = encodedHeaderLength(frame) + (stamp === null ? 0 : SEQUENCE_RECORD_BYTES);
  const payloadLen = frame.payload.length;
  if (headerLen > MAX_HEADER_LEN) {
    throw new EncodeError(`header is ${headerLen} bytes; PKT v1 allows at most ${MAX_HEADER_LEN}: shorten the ids or extensions`);
  }
  if (payloadLen > MAX_PAYLOAD_LEN) {
    throw new EncodeError(`payload is ${payloadLen} bytes; PKT v1 allows at most ${MAX_PAYLOAD_LEN}`);
  }
  if (offset < 0 || offset + headerLen + payloadLen > target.length) {
    throw new EncodeError(
      `frame of ${headerLen + payloadLen} bytes does not fit the target buffer (${target.length} bytes) at offset ${offset}`,
    );
  }
  target.writeUInt32LE(MAGIC_U32, offset);
  target[offset + OFFSET_VERSION] = frame.version ?? VERSION;
  target[offset + OFFSET_FLAGS] = (frame.flags ?? 0) | (stamp === null ? 0 : stamp.flags);
  target.writeUInt16LE(headerLen, offset + OFFSET_HEADER_LEN);
  target.writeUInt32LE(payloadLen, offset + OFFSET_PAYLOAD_LEN);
  const ts = frame.timestamp ?? 0;
  if (typeof ts === 'number' ? !Number.isSafeInteger(ts) || ts < 0 : ts < 0n || ts > 0xffff_ffff_ffff_ffffn) {
    throw new EncodeError(`timestamp ${ts} is not a u64 count of microseconds (use a non-negative integer, or a bigint)`);
  }
  if (typeof ts === 'number') {
    // Two u32 halves: no BigInt per frame for the common case.
    target.writeUInt32LE(ts % 0x1_0000_0000, offset + OFFSET_TIMESTAMP);
    target.writeUInt32LE(Math.floor(ts / 0x1_0000_0000), offset + OFFSET_TIMESTAMP + 4);
  } else target.writeBigUInt64LE(ts, offset + OFFSET_TIMESTAMP);
  let at = writeId(target, offset + FIXED_HEADER_BYTES, frame.sourceId);
  at = writeId(target, at, frame.destId);
  if (frame.extensions) {
    for (const ext of frame.extensions) {
      if (ext.value.length > 0xffff) throw new EncodeError(`extension type ${ext.type} value is ${ext.value.length} bytes; at most 65535`);
      target[at] = ext.type;
      target.writeUInt16LE(ext.value.length, at + 1);
      target.set(ext.value, at + EXTENSION_HEADER_BYTES);
      at += EXTENSION_HEADER_BYTES + ext.value.length;
    }
  }
  if (stamp !== null) at += writeSequenceRecord(target, at, stamp.producerId, stamp.sequence);
  target.set(frame.payload, at);
  const checksum = frame.checksum ?? crc32(target, at, at + payloadLen);
  target.writeUInt32LE(checksum >>> 0, offset + OFFSET_CHECKSUM);
  return headerLen + payloadLen;
}

/** Encodes `frame` into a new Buffer of exactly its length. */
export function encodeFrame(frame: FrameInput): Buffer {
  return encodeStampedFrame(frame, null);
}

/** encodeFrame, with a producer's ack-mode stamp (null: none). */
export function encodeStampedFrame(frame: FrameInput, stamp: FrameStamp | null): Buffer {
  const out = Buffer.allocUnsafe(encodedLength(frame, stamp));
  encodeFrameInto(frame, out, 0, stamp);
  return out;
}
