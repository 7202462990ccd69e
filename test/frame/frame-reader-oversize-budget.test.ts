import { describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/wire/encode.js';
import { deferred, flush, makeReader } from '../helpers/feed.js';

describe('oversize frames under a slow handler', () => {
  it('keeps at most one oversize frame per connection in memory while a handler holds it', async () => {
    const big = (i: number) => encodeFrame({ sourceId: 's', destId: 'd', payload: Buffer.alloc(20_000, i) });
    const stream = Buffer.concat([big(1), big(2), big(3)]);
    const h = makeReader(4096);
    const holds = [deferred(), deferred(), deferred()];
    h.collector.onFrameHook = (_view, index) => {
      h.reader.hold(holds[index].promise, 0);
      h.reader.decoder.detachView();
    };
    let at = h.reader.write(stream);
    expect(h.collector.frames).toBe(1);
    // The second oversize frame waits: no buffer for it while the first is held.
    expect(at).toBeLessThan(stream.length);
    expect(h.reader.bytesOwned).toBeLessThanOrEqual(20_100 + 4096);
    for (let i = 0; i < 3 && at < stream.length; i++) {
      holds[i].resolve();
      await flush();
      at += h.reader.write(stream, at);
    }
    holds[2].resolve();
    await flush();
    expect(at).toBe(stream.length);
    expect(h.collector.frames).toBe(3);
    expect(h.collector.errors).toEqual([]);
    expect(h.stats.ringBytes).toBe(0);
  });
});

describe('oversize frames beyond what the process can allocate', () => {
  it('count frame_too_large and fail the stream instead of throwing', () => {
    const h = makeReader(4096, { limits: { maxPayloadBytes: 0xffffffff, maxHeaderBytes: 4096 } });
    const head = encodeFrame({ sourceId: 's', destId: 'd', payload: Buffer.alloc(0) });
    head.writeUInt32LE(0xffffffff, 8); // header + 4 GiB: past buffer.constants.MAX_LENGTH
    h.reader.write(head);
    // The frame's own buffer is taken when the next read needs a region.
    expect(h.reader.reserveRead()).toBeNull();
    expect(h.reader.failed).toBe('frame_too_large');
    expect(h.collector.errors).toEqual([{ reason: 'frame_too_large', offset: 0 }]);
    expect(h.reader.bytesOwned).toBeLessThan(4096);
  });
});
