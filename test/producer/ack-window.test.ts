import { describe, expect, it } from 'vitest';
import { AckWindow } from '../../src/producer/ack-window.js';
import { NumberQueue } from '../../src/producer/number-queue.js';
import { OutboundQueue } from '../../src/producer/outbound-queue.js';
import { encodedLength } from '../../src/wire/encode.js';

const frame = (i: number) => ({ sourceId: 's', destId: 'd', payload: Buffer.alloc(10 + i, i) });

/** Sends n frames through queue and window the way the producer does; returns the chunks taken. */
function sendAndTake(queue: OutboundQueue, window: AckWindow, from: number, n: number): void {
  for (let i = from; i < from + n; i++) {
    const length = encodedLength(frame(i), window.stamp);
    queue.appendFrame(frame(i), length, window.stamp);
    window.sent(length);
  }
  for (const chunk of queue.take()) window.written(chunk);
}

describe('AckWindow', () => {
  it('releases slab regions only when ACKs cover all their frames, and stamps sequences 0, 1, 2, ...', () => {
    const queue = new OutboundQueue(4096, 4);
    const window = new AckWindow(queue);
    sendAndTake(queue, window, 0, 5);
    sendAndTake(queue, window, 5, 5);
    expect(window.stamp.sequence).toBe(10);
    const total = window.bytes;
    expect(queue.bytes).toBe(total);
    expect(window.ack(3)).toBe(3);
    expect(queue.bytes).toBe(total); // the first chunk still has 2 unacknowledged frames
    expect(window.ack(7)).toBe(4);
    expect(queue.bytes).toBeLessThan(total); // first chunk released
    expect(window.ack(11)).toBe(-1); // more than were written
    expect(window.ack(6)).toBe(0); // never lowers
    expect(window.ack(10)).toBe(3);
    expect(queue.bytes).toBe(0);
    expect(window.acked).toBe(10);
  });

  it('rewinds to the first unacknowledged frame of a partly acknowledged chunk', () => {
    const queue = new OutboundQueue(4096, 4);
    const window = new AckWindow(queue);
    sendAndTake(queue, window, 0, 4);
    window.ack(1);
    const resend = window.rewind();
    const lengths = [0, 1, 2, 3].map((i) => encodedLength(frame(i), window.stamp));
    expect(Buffer.concat(resend).length).toBe(lengths[1] + lengths[2] + lengths[3]);
    expect(window.resent).toBe(3);
    expect(window.connWritten).toBe(3); // the new connection counts from 1
    expect(window.ack(3)).toBe(3);
    expect(queue.bytes).toBe(0);
  });

  it('discard() releases everything and reports the bytes', () => {
    const queue = new OutboundQueue(4096, 4);
    const window = new AckWindow(queue);
    sendAndTake(queue, window, 0, 3);
    const bytes = window.bytes;
    expect(window.discard()).toBe(bytes);
    expect(queue.bytes).toBe(0);
  });
});

describe('NumberQueue', () => {
  it('is FIFO across growth and wrap-around', () => {
    const q = new NumberQueue();
    let next = 0;
    let expected = 0;
    for (let round = 0; round < 50; round++) {
      for (let k = 0; k < 37; k++) q.push(next++);
      for (let k = 0; k < 20; k++) expect(q.shift()).toBe(expected++);
    }
    expect(q.length).toBe(next - expected);
    expect(q.at(0)).toBe(expected);
  });
});
