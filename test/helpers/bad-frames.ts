/**
 * One invalid frame per docs/protocol.md reason (several shapes for some), under the
 * limits BAD_LIMITS. None holds a 0x50 ('P') after its first byte, so a
 * resync can only land on the frame that follows it.
 */
import CRC32 from 'crc-32';
import type { DecoderLimits } from '../../src/frame/frame-decoder.js';
import { encodeFrame } from '../../src/wire/encode.js';
import type { FrameErrorReason } from '../../src/wire/reasons.js';
import { rawFrame, withoutStrayP, type RawFrame } from './frames.js';

export const BAD_LIMITS: DecoderLimits = { maxPayloadBytes: 1000, maxHeaderBytes: 256 };

/** source "a", dest "b", both terminated. */
export const ID_REST = Buffer.from('a\0b\0');

export interface BadCase {
  name: string;
  reason: FrameErrorReason;
  bad: Buffer;
  /** Bytes of the bad frame the decoder needs before it can tell. */
  detectAt: number;
}

export function badCases(): BadCase[] {
  const payload = Buffer.from('payload');
  const valid = withoutStrayP((salt) => encodeFrame({ sourceId: 'a', destId: 'b', payload: Buffer.alloc(7, 0x10 + salt) }));
  const withByte = (k: number, v: number): Buffer => {
    const b = Buffer.from(valid);
    b[k] = v;
    return b;
  };
  const raw = (rest: Uint8Array, extra: Partial<RawFrame> = {}): Buffer =>
    withoutStrayP((salt) => rawFrame({ rest, payload: Buffer.alloc(5, 0x20 + salt), ...extra }));
  const ext = (...bytes: number[]): Buffer => Buffer.concat([ID_REST, Buffer.from(bytes)]);
  return [
    { name: 'a wrong first magic byte', reason: 'bad_magic', bad: withByte(0, 0x51), detectAt: 1 },
    { name: 'a wrong last magic byte', reason: 'bad_magic', bad: withByte(3, 0x01), detectAt: 4 },
    { name: 'version 2', reason: 'unsupported_version', bad: raw(ID_REST, { version: 2 }), detectAt: 5 },
    { name: 'version 0', reason: 'unsupported_version', bad: raw(ID_REST, { version: 0 }), detectAt: 5 },
    { name: 'header_len 25 (below 26)', reason: 'bad_header_len', bad: raw(ID_REST, { headerLen: 25 }), detectAt: 8 },
    { name: 'header_len 0', reason: 'bad_header_len', bad: raw(ID_REST, { headerLen: 0 }), detectAt: 8 },
    {
      name: 'header_len 257 (above the 256 limit)',
      reason: 'bad_header_len',
      bad: raw(Buffer.concat([ext(0x7f, 226, 0), Buffer.alloc(226, 1)])),
      detectAt: 8,
    },
    // Only the 12 bytes up to payload_len exist: no payload is needed to reject these.
    {
      name: 'payload_len 1001 (above the 1000 limit)',
      reason: 'frame_too_large',
      bad: raw(ID_REST, { payloadLen: 1001 }).subarray(0, 12),
      detectAt: 12,
    },
    {
      name: 'payload_len 0xFFFFFFFF',
      reason: 'frame_too_large',
      bad: raw(ID_REST, { payloadLen: 0xffffffff }).subarray(0, 12),
      detectAt: 12,
    },
    { name: 'an unterminated source_id', reason: 'unterminated_string', bad: raw(Buffer.from('ab')), detectAt: 26 },
    {
      name: 'a source_id whose only NUL is in the payload',
      reason: 'unterminated_string',
      bad: raw(Buffer.from('abc'), { payload: Buffer.from([0, 0]) }),
      detectAt: 27,
    },
    { name: 'an unterminated dest_id', reason: 'unterminated_string', bad: raw(Buffer.from('a\0bc')), detectAt: 28 },
    { name: 'an overlong source_id (C0 80)', reason: 'invalid_utf8', bad: raw(Buffer.from([0xc0, 0x80, 0, 0x62, 0])), detectAt: 29 },
    {
      name: 'a surrogate in dest_id (ED A0 80)',
      reason: 'invalid_utf8',
      bad: raw(Buffer.from([0x61, 0, 0xed, 0xa0, 0x80, 0])),
      detectAt: 30,
    },
    {
      name: 'a dest_id above U+10FFFF (F4 90 80 80)',
      reason: 'invalid_utf8',
      bad: raw(Buffer.from([0x61, 0, 0xf4, 0x90, 0x80, 0x80, 0])),
      detectAt: 31,
    },
    { name: 'an extension record running past header_len', reason: 'bad_extension', bad: raw(ext(1, 5, 0, 1, 2)), detectAt: 33 },
    { name: 'one byte left after the last record', reason: 'bad_extension', bad: raw(ext(1, 1, 0, 9, 7)), detectAt: 33 },
    { name: 'two bytes left after dest_id', reason: 'bad_extension', bad: raw(ext(7, 0)), detectAt: 30 },
    {
      name: 'a wrong checksum',
      reason: 'crc_mismatch',
      bad: withoutStrayP((salt) => rawFrame({ rest: ID_REST, payload, checksum: (CRC32.buf(payload) + 1 + salt) >>> 0 })),
      detectAt: 28 + payload.length,
    },
  ];
}
