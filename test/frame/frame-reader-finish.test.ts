/**
 * The reader as the one owner of unread input and end of stream: offer()
 * keeps what the ring cannot take (the backlog), pump() and settling holds
 * move it on, finish() delivers it as room allows before it ends.
 */
import { describe, expect, it } from 'vitest';
import { deferred, flush, makeReader, type Deferred } from '../helpers/feed.js';
import { encodeStream, smallSpec } from '../helpers/frames.js';

function stream(n: number) {
  return encodeStream(Array.from({ length: n }, (_, i) => smallSpec(i, 300)));
}

describe('FrameReader input ownership', () => {
  it('keeps what the ring cannot take in its backlog, refusing new reads until onRoom', async () => {
    const s = stream(40);
    const h = makeReader(4096);
    const held: Deferred[] = [];
    h.collector.onFrameHook = () => {
      const d = deferred();
      held.push(d);
      h.reader.hold(d.promise, 0);
      h.reader.decoder.detachView();
    };
    expect(s.bytes.length).toBeGreaterThan(4096);
    const borrowed = Buffer.from(s.bytes);
    expect(h.reader.offer(borrowed, 0, borrowed.length, true)).toBe(false);
    borrowed.fill(0); // borrowed: the reader copied what it kept
    expect(h.reader.hasBacklog).toBe(true);
    expect(h.reader.waiting).toBe(true);
    expect(h.reader.reserveRead()).toBeNull();
    while (h.collector.frames < 40) {
      const n = held.length;
      for (const d of held.splice(0)) d.resolve();
      await flush();
      if (n === 0) throw new Error('stalled with nothing held');
    }
    expect(h.reader.hasBacklog).toBe(false);
    expect(h.roomCalls()).toBeGreaterThan(0);
    expect(h.collector.errors).toEqual([]);
  });

  it('finish() delivers the backlog as room appears, then ends and calls onFinished once', async () => {
    const s = stream(40);
    const h = makeReader(4096);
    const held: Deferred[] = [];
    h.collector.onFrameHook = () => {
      const d = deferred();
      held.push(d);
      h.reader.hold(d.promise, 0);
      h.reader.decoder.detachView();
    };
    h.reader.offer(s.bytes);
    let finished = 0;
    h.reader.onFinished = () => finished++;
    h.reader.finish();
    expect(finished, 'the backlog still waits for room').toBe(0);
    for (let i = 0; i < 1000 && finished === 0; i++) {
      for (const d of held.splice(0)) d.resolve();
      await flush();
    }
    for (const d of held.splice(0)) d.resolve();
    await flush();
    expect(finished).toBe(1);
    expect(h.collector.frames).toBe(40);
    expect(h.collector.errors).toEqual([]);
    expect(h.stats.ringBytes).toBe(0);
    expect(h.pool.inUse).toBe(0);
  });

  it('finish() with a partial frame buffered counts one truncated and ends at once', () => {
    const s = stream(2);
    const h = makeReader(4096);
    h.reader.offer(s.bytes.subarray(0, s.bytes.length - 3));
    let finished = 0;
    h.reader.onFinished = () => finished++;
    h.reader.finish();
    h.reader.finish();
    expect(finished).toBe(1);
    expect(h.collector.frames).toBe(1);
    expect(h.collector.errors.map((e) => e.reason)).toEqual(['truncated']);
    expect(h.pool.inUse).toBe(0);
  });
});
