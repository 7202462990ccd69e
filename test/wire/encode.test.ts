import { describe, expect, it } from 'vitest';
import { EncodeError } from '../../src/errors.js';
import { MAX_HEADER_LEN } from '../../src/wire/constants.js';
import { encodeFrame, encodeFrameInto, encodedHeaderLength, encodedLength } from '../../src/wire/encode.js';

/** docs/protocol.md's reference vector, byte for byte. */
const REFERENCE = Buffer.from(
  '504b5400 01001c00 05000000 86a61036 00401e18 240a0600 61006200 68656c6c 6f'.replaceAll(' ', ''),
  'hex',
);
const REFERENCE_FRAME = { sourceId: 'a', destId: 'b', payload: Buffer.from('hello'), timestamp: 1_700_000_000_000_000 };

function expectEncodeError(fn: () => unknown, message: RegExp): void {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(EncodeError);
    expect((error as EncodeError).code).toBe('PKT_ERR_ENCODE');
    expect((error as EncodeError).message).toMatch(message);
    return;
  }
  throw new Error('expected an EncodeError');
}

describe('encodeFrame', () => {
  it('writes the docs/protocol.md reference vector byte for byte', () => {
    expect(encodeFrame(REFERENCE_FRAME).toString('hex')).toBe(REFERENCE.toString('hex'));
  });

  it('writes the same bytes for a bigint timestamp and for byte-array ids', () => {
    const frame = encodeFrame({
      sourceId: Buffer.from('a'),
      destId: new Uint8Array([0x62]),
      payload: Buffer.from('hello'),
      timestamp: 1_700_000_000_000_000n,
    });
    expect(frame.equals(REFERENCE)).toBe(true);
  });

  it('counts ids in UTF-8 bytes, not UTF-16 units, in header_len', () => {
    const frame = encodeFrame({ sourceId: '🚀', destId: 'é', payload: Buffer.alloc(0) });
    expect(frame.readUInt16LE(6)).toBe(24 + 4 + 1 + 2 + 1);
    expect(frame.subarray(24, 29)).toEqual(Buffer.from([0xf0, 0x9f, 0x9a, 0x80, 0]));
    expect(frame.subarray(29, 32)).toEqual(Buffer.from([0xc3, 0xa9, 0]));
  });

  it('keeps reserved flag bits and the full u64 timestamp', () => {
    const frame = encodeFrame({ sourceId: '', destId: '', payload: Buffer.alloc(0), flags: 0xf0, timestamp: 0xffff_ffff_ffff_ffffn });
    expect(frame[5]).toBe(0xf0);
    expect(frame.readBigUInt64LE(16)).toBe(0xffff_ffff_ffff_ffffn);
    expect(frame.length).toBe(26);
  });

  it('writes extension records as type, u16 length, value, in order, after dest_id', () => {
    const frame = encodeFrame({
      sourceId: 'a',
      destId: 'b',
      payload: Buffer.from([9, 9]),
      extensions: [
        { type: 1, value: Buffer.from([0xaa]) },
        { type: 0x42, value: Buffer.alloc(0) },
        { type: 0xff, value: Buffer.from([1, 2, 3]) },
      ],
    });
    const headerLen = 28 + (3 + 1) + 3 + (3 + 3);
    expect(frame.readUInt16LE(6)).toBe(headerLen);
    expect(frame.readUInt32LE(8)).toBe(2);
    expect([...frame.subarray(28, headerLen)]).toEqual([1, 1, 0, 0xaa, 0x42, 0, 0, 0xff, 3, 0, 1, 2, 3]);
    expect([...frame.subarray(headerLen)]).toEqual([9, 9]);
  });

  it('writes a caller-given checksum instead of the computed one', () => {
    const frame = encodeFrame({ ...REFERENCE_FRAME, checksum: 0xdeadbeef });
    expect(frame.readUInt32LE(12)).toBe(0xdeadbeef);
  });

  it('reports the same length from encodedLength as it writes', () => {
    const input = { ...REFERENCE_FRAME, extensions: [{ type: 7, value: Buffer.alloc(10) }] };
    expect(encodedLength(input)).toBe(encodeFrame(input).length);
    expect(encodedHeaderLength(input)).toBe(28 + 13);
  });
});

describe('encodeFrameInto', () => {
  it('writes at an offset, returns the frame length and touches nothing else', () => {
    const target = Buffer.alloc(REFERENCE.length + 20, 0xee);
    const n = encodeFrameInto(REFERENCE_FRAME, target, 7);
    expect(n).toBe(REFERENCE.length);
    expect(target.subarray(7, 7 + n).equals(REFERENCE)).toBe(true);
    expect(target.subarray(0, 7).every((b) => b === 0xee)).toBe(true);
    expect(target.subarray(7 + n).every((b) => b === 0xee)).toBe(true);
  });

  it('fits a frame that ends exactly at the end of the target', () => {
    const target = Buffer.alloc(REFERENCE.length + 3);
    expect(encodeFrameInto(REFERENCE_FRAME, target, 3)).toBe(REFERENCE.length);
    expect(target.subarray(3).equals(REFERENCE)).toBe(true);
  });

  it('throws EncodeError when the target is one byte too small', () => {
    expectEncodeError(() => encodeFrameInto(REFERENCE_FRAME, Buffer.alloc(REFERENCE.length - 1)), /does not fit/);
    expectEncodeError(() => encodeFrameInto(REFERENCE_FRAME, Buffer.alloc(REFERENCE.length), 1), /does not fit/);
  });

  it('throws EncodeError for a negative offset', () => {
    expectEncodeError(() => encodeFrameInto(REFERENCE_FRAME, Buffer.alloc(100), -1), /does not fit/);
  });

  it('throws EncodeError when the header would be longer than 65535 bytes', () => {
    // 24 + 65508 + 1 + 1 + 1 = 65535 is the largest legal header; one more byte is too long.
    const fits = { sourceId: 'x'.repeat(65_508), destId: 'y', payload: Buffer.alloc(0) };
    expect(encodedHeaderLength(fits)).toBe(MAX_HEADER_LEN);
    expect(encodeFrame(fits).readUInt16LE(6)).toBe(MAX_HEADER_LEN);
    expectEncodeError(() => encodeFrame({ ...fits, sourceId: 'x'.repeat(65_509) }), /header is 65536 bytes/);
    expectEncodeError(
      () => encodeFrame({ sourceId: 'a', destId: 'b', payload: Buffer.alloc(0), extensions: [{ type: 1, value: Buffer.alloc(65_535) }] }),
      /header is/,
    );
  });

  it('throws EncodeError for an extension value longer than 65535 bytes', () => {
    expectEncodeError(
      () => encodeFrameInto({ sourceId: '', destId: '', payload: Buffer.alloc(0), extensions: [{ type: 1, value: Buffer.alloc(65_536) }] }, Buffer.alloc(70_000)),
      /at most/,
    );
  });
});

describe('timestamps', () => {
  it('writes a number and the equal bigint identically, and rejects what is not a u64', () => {
    const base = { sourceId: 's', destId: 'd', payload: Buffer.alloc(0) };
    const ts = 1_700_000_000_123_456;
    expect(encodeFrame({ ...base, timestamp: ts }).equals(encodeFrame({ ...base, timestamp: BigInt(ts) }))).toBe(true);
    for (const bad of [1.5, -1, Number.NaN, 2 ** 60, -1n, 2n ** 64n]) {
      expect(() => encodeFrame({ ...base, timestamp: bad })).toThrow(EncodeError);
    }
  });
});
