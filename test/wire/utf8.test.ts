import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isValidUtf8 } from '../../src/wire/utf8.js';
import { unicodeStringArb } from '../helpers/frames.js';

const strict = new TextDecoder('utf-8', { fatal: true });

/** The reference: does a fatal TextDecoder accept these bytes? */
function referenceValid(bytes: Uint8Array): boolean {
  try {
    strict.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replaceAll(' ', ''), 'hex'));

/** Bytes biased towards the interesting lead and continuation ranges. */
const utf8ishByte = fc.oneof(
  fc.integer({ min: 0, max: 0x7f }),
  fc.integer({ min: 0x80, max: 0xbf }),
  fc.integer({ min: 0xc0, max: 0xc2 }),
  fc.integer({ min: 0xdf, max: 0xe1 }),
  fc.integer({ min: 0xec, max: 0xee }),
  fc.integer({ min: 0xef, max: 0xf5 }),
  fc.integer({ min: 0xf5, max: 0xff }),
  fc.constantFrom(0x8f, 0x90, 0x9f, 0xa0),
);

describe('isValidUtf8', () => {
  it('agrees with a fatal TextDecoder on random byte arrays', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 24 }), (bytes) => {
        expect(isValidUtf8(bytes, 0, bytes.length)).toBe(referenceValid(bytes));
      }),
      { numRuns: 2000 },
    );
  });

  it('agrees with a fatal TextDecoder on random bytes near the lead and continuation boundaries', () => {
    fc.assert(
      fc.property(fc.array(utf8ishByte, { maxLength: 16 }), (list) => {
        const bytes = Uint8Array.from(list);
        expect(isValidUtf8(bytes, 0, bytes.length)).toBe(referenceValid(bytes));
      }),
      { numRuns: 3000 },
    );
  });

  it('agrees with a fatal TextDecoder on the UTF-8 of random strings and their cuts', () => {
    fc.assert(
      fc.property(unicodeStringArb(10), fc.nat(), fc.nat(), (s, a, b) => {
        const bytes = Uint8Array.from(Buffer.from(s, 'utf8'));
        expect(isValidUtf8(bytes, 0, bytes.length)).toBe(true);
        const start = a % (bytes.length + 1);
        const end = start + (b % (bytes.length - start + 1));
        expect(isValidUtf8(bytes, start, end)).toBe(referenceValid(bytes.subarray(start, end)));
      }),
      { numRuns: 1000 },
    );
  });

  it('checks only its range', () => {
    const bytes = hex('ff 61 62 ff');
    expect(isValidUtf8(bytes, 1, 3)).toBe(true);
    expect(isValidUtf8(bytes, 0, 3)).toBe(false);
    expect(isValidUtf8(bytes, 2, 2)).toBe(true);
    // A valid 2-byte sequence cut by the range end is truncated.
    expect(isValidUtf8(hex('c3 a9'), 0, 1)).toBe(false);
  });

  it.each([
    ['empty', ''],
    ['ASCII', '61 62 63'],
    ['2-byte é', 'c3 a9'],
    ['smallest 2-byte U+0080', 'c2 80'],
    ['3-byte €', 'e2 82 ac'],
    ['smallest 3-byte U+0800', 'e0 a0 80'],
    ['last before the surrogates U+D7FF', 'ed 9f bf'],
    ['first after the surrogates U+E000', 'ee 80 80'],
    ['U+FFFF', 'ef bf bf'],
    ['4-byte emoji 🚀', 'f0 9f 9a 80'],
    ['smallest 4-byte U+10000', 'f0 90 80 80'],
    ['largest code point U+10FFFF', 'f4 8f bf bf'],
  ])('accepts %s', (_name, bytes) => {
    const b = hex(bytes);
    expect(referenceValid(b)).toBe(true);
    expect(isValidUtf8(b, 0, b.length)).toBe(true);
  });

  it.each([
    ['overlong 2-byte NUL (C0 80)', 'c0 80'],
    ['overlong 2-byte (C1 BF)', 'c1 bf'],
    ['overlong 3-byte NUL (E0 80 80)', 'e0 80 80'],
    ['overlong 3-byte (E0 9F BF)', 'e0 9f bf'],
    ['overlong 4-byte NUL (F0 80 80 80)', 'f0 80 80 80'],
    ['overlong 4-byte (F0 8F BF BF)', 'f0 8f bf bf'],
    ['high surrogate U+D800 (ED A0 80)', 'ed a0 80'],
    ['low surrogate U+DFFF (ED BF BF)', 'ed bf bf'],
    ['a CESU-8 surrogate pair', 'ed a0 bd ed b8 80'],
    ['above U+10FFFF (F4 90 80 80)', 'f4 90 80 80'],
    ['lead F5', 'f5 80 80 80'],
    ['lead FF', 'ff'],
    ['a lone continuation byte', '80'],
    ['truncated 2-byte sequence', '61 c3'],
    ['truncated 3-byte sequence', 'e2 82'],
    ['truncated 4-byte sequence', 'f0 9f 9a'],
    ['4-byte sequence missing its last byte before ASCII', 'f0 9f 9a 41'],
    ['3-byte sequence with a non-continuation second byte', 'e2 41 ac'],
    ['2-byte lead followed by another lead', 'c3 c3 a9'],
  ])('rejects %s', (_name, bytes) => {
    const b = hex(bytes);
    expect(referenceValid(b)).toBe(false);
    expect(isValidUtf8(b, 0, b.length)).toBe(false);
  });
});
