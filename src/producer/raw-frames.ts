/**
 * The frame lengths of already-encoded bytes handed to sendRaw() in ack
 * mode, read from each header's length fields (no validation: that is the
 * server's job). The window needs them to map ACK counts to bytes.
 */
import { MIN_HEADER_LEN, OFFSET_HEADER_LEN, OFFSET_PAYLOAD_LEN } from '../wire/constants.js';
import { ProducerError } from './errors.js';

/** Calls `each(length)` per frame; throws ('invalid_frames') unless `bytes` is whole frames. */
export function forEachRawFrame(bytes: Buffer, address: string, each: (length: number) => void): number {
  let p = 0;
  let frames = 0;
  while (p < bytes.length) {
    const headerLen = p + OFFSET_PAYLOAD_LEN + 4 <= bytes.length ? bytes.readUInt16LE(p + OFFSET_HEADER_LEN) : 0;
    const length = headerLen < MIN_HEADER_LEN ? 0 : headerLen + bytes.readUInt32LE(p + OFFSET_PAYLOAD_LEN);
    if (length === 0 || p + length > bytes.length) {
      throw new ProducerError(
        'invalid_frames',
        `pkt producer ${address}: sendRaw() in ack mode needs whole frames; the bytes at offset ${p} do not hold one`,
      );
    }
    each(length);
    p += length;
    frames++;
  }
  return frames;
}
