import { describe, expect, it } from 'vitest';
import { ForwardAcks, frameOffset, stampedCopy, type AckedBatch } from '../../src/sinks/forward-acks.js';
import { Flags } from '../../src/wire/constants.js';
import { encodeFrame } from '../../src/wire/encode.js';

const frames = (n: number, flags = Flags.PRIORITY): Buffer[] =>
  Array.from({ length: n }, (_, i) => encodeFrame({ sourceId: 's', destId: 'd', payload: Buffer.alloc(i * 3 + 1, i), flags }));

describe('stampedCopy', () => {
  it('sets ACK_REQUEST on every frame of a copy and changes no other byte, nor the original', () => {
    const list = frames(5);
    const segments = [Buffer.concat(list.slice(0, 2)), Buffer.concat(list.slice(2))];
    const before = Buffer.concat(segments);
    const { copy, frames: n } = stampedCopy(segments, before.length);
    expect(n).toBe(5);
    expect(Buffer.concat(segments).equals(before)).toBe(true); // the ring views are untouched
    let at = 0;
    for (const f of list) {
      const stamped = Buffer.from(f);
      stamped[5] |= Flags.ACK_REQUEST;
      expect(copy.subarray(at, at + f.length).equals(stamped)).toBe(true);
      at += f.length;
    }
    expect(frameOffset(copy, 3)).toBe(list[0].length + list[1].length + list[2].length);
  });
});

describe('ForwardAcks', () => {
  const batch = (n: number, calls: [number, number][]): AckedBatch => {
    const bytes = Buffer.concat(frames(n));
    return { segments: [bytes], bytes: bytes.length, onAcked: (f, t) => calls.push([f, t]), frames: 0, acked: 0 };
  };

  it('maps a connection count onto batches, partly and wholly, and resumes a partial batch after a reconnect', () => {
    const calls: [number, number][] = [];
    const acks = new ForwardAcks();
    const queue = [batch(3, calls), batch(4, calls)];
    acks.stamped(queue[0]);
    acks.stamped(queue[1]);
    expect(acks.ack(queue, 2)).toBe(0);
    expect(acks.ack(queue, 5)).toBe(1);
    expect(calls).toEqual([[2, 3], [1, 3], [2, 4]]);
    expect(acks.ack(queue, 9)).toBe(-1); // only 7 were written
    acks.newConnection();
    const rest = queue.slice(1);
    const resend = acks.stamped(rest[0]);
    expect(resend.equals(rest[0].segments[0].subarray(frameOffset(rest[0].segments[0], 2)))).toBe(true);
    expect(acks.ack(rest, 2)).toBe(1); // the new connection counts from 1
    expect(calls.at(-1)).toEqual([2, 4]);
    expect(acks.framesAcked).toBe(7);
  });
});
