import { describe, expect, it } from 'vitest';
import { ErrorCodes, PktError, splitFrames } from '../../src/index.js';
import { encodeFrame } from '../../src/wire/encode.js';

const frames = Array.from({ length: 5 }, (_, i) =>
  encodeFrame({ sourceId: `s${i}`, destId: 'd', payload: Buffer.alloc(i * 100, i), timestamp: BigInt(i), extensions: [{ type: 0x81, value: Buffer.from([i]) }] }),
);
const data = Buffer.concat(frames);

describe('splitFrames (reading jetstream messages back)', () => {
  it('gives one packet view per frame, in order, byte-exact, each keeping its own fields', () => {
    const packets = splitFrames(data);
    expect(packets.map((p) => p.sourceId)).toEqual(['s0', 's1', 's2', 's3', 's4']);
    packets.forEach((p, i) => {
      expect(Buffer.from(p.frame).equals(frames[i])).toBe(true);
      expect(p.payloadLength).toBe(i * 100);
      expect([...p.extensions()].map((e) => e.type)).toEqual([0x81]);
    });
  });

  it('takes a plain Uint8Array (what the NATS client hands out)', () => {
    const copy = new Uint8Array(data.length + 8).subarray(8);
    copy.set(data);
    expect(splitFrames(copy)).toHaveLength(5);
  });

  it('throws a PKT_ERR_FRAME error naming the reason and offset for a torn or bad message', () => {
    const torn = data.subarray(0, data.length - 3);
    expect(() => splitFrames(torn)).toThrow(/truncated at byte \d+/u);
    const bad = Buffer.from(data);
    bad[frames[0].length] = 0; // the second frame's magic
    try {
      splitFrames(bad);
      throw new Error('no error');
    } catch (err) {
      expect(err).toBeInstanceOf(PktError);
      expect((err as PktError).code).toBe(ErrorCodes.FRAME);
      expect((err as Error).message).toMatch(new RegExp(`bad_magic at byte ${frames[0].length}`, 'u'));
    }
  });
});
