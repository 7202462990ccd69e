/**
 * The `sequence` extension (type 5, docs/protocol.md Acknowledgements): a 16-byte
 * producer id, fixed for a producer's lifetime, then a u64 LE sequence
 * number (0, 1, 2, ... per producer, kept when a frame is resent).
 *
 *   type  length   value
 *   +----+--------+----------------------------+------------------+
 *   | 05 | 18 00  | producer id (16 bytes)     | sequence u64 LE  |
 *   +----+--------+----------------------------+------------------+
 *
 * A value of another length is kept byte-exact by sinks but means nothing:
 * readSequence answers null for it.
 */
import { EXTENSION_HEADER_BYTES, ExtensionType } from './constants.js';
import { readU64, writeU64 } from './u64.js';

/** Structurally encode.ts's ExtensionRecord (not imported: encode.ts imports this file). */
interface ExtensionRecord {
  type: number;
  value: Uint8Array;
}

export const PRODUCER_ID_BYTES = 16;
export const SEQUENCE_VALUE_BYTES = PRODUCER_ID_BYTES + 8;
/** The whole record: TLV header + value. */
export const SEQUENCE_RECORD_BYTES = EXTENSION_HEADER_BYTES + SEQUENCE_VALUE_BYTES;

export interface Sequence {
  /** A view of the 16 id bytes. */
  producerId: Buffer;
  /** Exact up to 2^53 - 1 (a producer does not send more frames than that). */
  sequence: number;
}

/** Writes the record (header and value) at `offset`; returns SEQUENCE_RECORD_BYTES. */
export function writeSequenceRecord(target: Buffer, offset: number, producerId: Uint8Array, sequence: number): number {
  target[offset] = ExtensionType.SEQUENCE;
  target.writeUInt16LE(SEQUENCE_VALUE_BYTES, offset + 1);
  target.set(producerId.subarray(0, PRODUCER_ID_BYTES), offset + EXTENSION_HEADER_BYTES);
  writeU64(target, offset + EXTENSION_HEADER_BYTES + PRODUCER_ID_BYTES, sequence);
  return SEQUENCE_RECORD_BYTES;
}

/** A new extension record value: producer id + sequence (for encodeFrame's `extensions`). */
export function sequenceExtension(producerId: Uint8Array, sequence: number): ExtensionRecord {
  const value = Buffer.allocUnsafe(SEQUENCE_VALUE_BYTES);
  value.set(producerId.subarray(0, PRODUCER_ID_BYTES), 0);
  writeU64(value, PRODUCER_ID_BYTES, sequence);
  return { type: ExtensionType.SEQUENCE, value };
}

/** The sequence in an extension record, or null if it is not a well-formed `sequence` record. */
export function readSequence(record: ExtensionRecord): Sequence | null {
  if (record.type !== ExtensionType.SEQUENCE || record.value.length !== SEQUENCE_VALUE_BYTES) return null;
  const value = Buffer.from(record.value.buffer, record.value.byteOffset, record.value.length);
  const sequence = readU64(value, PRODUCER_ID_BYTES);
  return sequence < 0 ? null : { producerId: value.subarray(0, PRODUCER_ID_BYTES), sequence };
}

/** The first well-formed `sequence` record among `records`, or null. */
export function findSequence(records: Iterable<ExtensionRecord>): Sequence | null {
  for (const record of records) {
    const found = readSequence(record);
    if (found !== null) return found;
  }
  return null;
}
