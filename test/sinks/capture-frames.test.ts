import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { countFrames, splitSegments, wholeFramesWithin } from '../../src/sinks/capture-frames.js';
import { frames } from '../handlers/drive.js';

/** The stream cut into segments at the given offsets (frames may straddle them). */
function cutAt(stream: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const c of [...at, stream.length]) {
    if (c > from) out.push(stream.subarray(from, c));
    from = Math.max(from, c);
  }
  return out;
}

describe('capture frame walking', () => {
  it('finds the whole frames within a room, wherever the segments cut them', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.array(fc.nat(), { maxLength: 8 }), fc.nat(3000), fc.boolean(), (n, cuts, room, atLeastOne) => {
        const all = frames(n);
        const segments = cutAt(Buffer.concat(all), cuts);
        let expected = 0;
        for (const [k, f] of all.entries()) {
          if (expected + f.length > room && !(atLeastOne && k === 0)) break;
          expected += f.length;
        }
        expect(wholeFramesWithin(segments, room, atLeastOne)).toBe(expected);
        expect(countFrames(segments)).toBe(n);
        const [head, tail] = splitSegments(segments, expected);
        expect(Buffer.concat(head).equals(Buffer.concat(all).subarray(0, expected))).toBe(true);
        expect(Buffer.concat(tail).equals(Buffer.concat(all).subarray(expected))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses bytes that are not frames instead of looping', () => {
    expect(() => countFrames([Buffer.alloc(64)])).toThrow(/whole frames/);
  });
});
