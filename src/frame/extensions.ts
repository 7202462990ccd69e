/** Iterates TLV extension records of a validated header (values are views). */
import type { ExtensionRecord } from '../wire/encode.js';
import { EXTENSION_HEADER_BYTES } from '../wire/constants.js';

export function* iterateExtensions(buf: Buffer, start: number, end: number): IterableIterator<ExtensionRecord> {
  let p = start;
  while (p + EXTENSION_HEADER_BYTES <= end) {
    const length = buf.readUInt16LE(p + 1);
    const valueStart = p + EXTENSION_HEADER_BYTES;
    yield { type: buf[p], value: buf.subarray(valueStart, valueStart + length) };
    p = valueStart + length;
  }
}

/**
 * Offset of the first malformed record in buf[start, end), or -1 if the
 * records tile the range exactly (docs/protocol.md: `bad_extension` otherwise).
 */
export function findBadExtension(buf: Uint8Array, start: number, end: number): number {
  let p = start;
  while (p < end) {
    if (end - p < EXTENSION_HEADER_BYTES) return p;
    const next = p + EXTENSION_HEADER_BYTES + (buf[p + 1] | (buf[p + 2] << 8));
    if (next > end) return p;
    p = next;
  }
  return -1;
}
