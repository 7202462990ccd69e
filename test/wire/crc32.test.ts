import CRC32 from 'crc-32';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CRC32_NATIVE_CROSSOVER, crc32, crc32Js, crc32Native } from '../../src/wire/crc32.js';
import { seededBytes } from '../helpers/bytes.js';

/** The independent oracle: crc-32 over a copy of the range, as unsigned. */
function oracle(buf: Uint8Array, start: number, end: number): number {
  return CRC32.buf(buf.slice(start, end)) >>> 0;
}

describe('crc32', () => {
  it('gives the IEEE check value 0xCBF43926 for "123456789", and 0 for no bytes', () => {
    const nine = Buffer.from('123456789');
    expect(crc32Js(nine, 0, 9)).toBe(0xcbf43926);
    expect(crc32Native(nine, 0, 9)).toBe(0xcbf43926);
    expect(crc32(nine, 0, 9)).toBe(0xcbf43926);
    expect(crc32(nine, 4, 4)).toBe(0);
    expect(crc32Js(nine, 4, 4)).toBe(0);
  });

  it('agrees with crc-32 for every length 0..1100 at offsets 0..16', () => {
    const buf = seededBytes(1100 + 17, 42);
    for (let len = 0; len <= 1100; len++) {
      const start = len % 17;
      const want = oracle(buf, start, start + len);
      if (crc32Js(buf, start, start + len) !== want) throw new Error(`crc32Js differs at length ${len}`);
      if (crc32Native(buf, start, start + len) !== want) throw new Error(`crc32Native differs at length ${len}`);
      if (crc32(buf, start, start + len) !== want) throw new Error(`crc32 differs at length ${len}`);
    }
  });

  it('agrees with crc-32 on random buffers and random ranges', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 1200 }),
        fc.nat(),
        fc.nat(),
        (bytes, a, b) => {
          const buf = Buffer.from(bytes);
          const start = bytes.length === 0 ? 0 : a % (bytes.length + 1);
          const end = start + (b % (bytes.length - start + 1));
          const want = oracle(buf, start, end);
          expect(crc32Js(buf, start, end)).toBe(want);
          expect(crc32Native(buf, start, end)).toBe(want);
          expect(crc32(buf, start, end)).toBe(want);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('agrees with crc-32 on both sides of the native crossover', () => {
    const buf = seededBytes(CRC32_NATIVE_CROSSOVER + 64, 7);
    for (let len = CRC32_NATIVE_CROSSOVER - 20; len <= CRC32_NATIVE_CROSSOVER + 20; len++) {
      for (const start of [0, 1, 15, 31]) {
        expect(crc32(buf, start, start + len)).toBe(oracle(buf, start, start + len));
      }
    }
  });

  it('agrees with crc-32 on large buffers (70,000 bytes and 1 MiB) at odd offsets', () => {
    for (const len of [70_000, 1 << 20]) {
      const buf = seededBytes(len + 3, len);
      const want = oracle(buf, 3, len + 3);
      expect(crc32(buf, 3, len + 3)).toBe(want);
      expect(crc32Js(buf, 3, len + 3)).toBe(want);
      expect(crc32Native(buf, 3, len + 3)).toBe(want);
    }
  });

  it('reads only its range: bytes just outside it do not change the result', () => {
    for (const [start, end] of [[100, 150], [100, 500]]) {
      const buf = seededBytes(600, start + end);
      const all = (): number[] => [crc32Js(buf, start, end), crc32Native(buf, start, end), crc32(buf, start, end)];
      const before = all();
      buf[start - 1] ^= 0xff;
      buf[end] ^= 0xff;
      expect(all()).toEqual(before);
      buf[end - 1] ^= 0xff;
      expect(all()).not.toEqual(before);
    }
  });
});
