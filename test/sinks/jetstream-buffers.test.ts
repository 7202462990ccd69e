/** MessageBuffers: acknowledged message copies reused, exact lengths, a bounded free list. */
import { describe, expect, it } from 'vitest';
import { MessageBuffers } from '../../src/sinks/jetstream-buffers.js';

const KiB = 1024;

describe('MessageBuffers', () => {
  it('hands out exactly the bytes asked for, and reuses a given-back buffer of the same 64 KiB class', () => {
    const pool = new MessageBuffers();
    const a = pool.take(100 * KiB);
    expect(a.length).toBe(100 * KiB);
    expect(a.buffer.byteLength).toBe(128 * KiB);
    pool.give(a);
    const b = pool.take(70 * KiB); // same class (65..128 KiB)
    expect(b.length).toBe(70 * KiB);
    expect(b.buffer).toBe(a.buffer);
    const c = pool.take(70 * KiB); // the free list is empty again: a new one
    expect(c.buffer).not.toBe(a.buffer);
  });

  it('never pools small copies or foreign buffers', () => {
    const pool = new MessageBuffers();
    const small = pool.take(1000); // Node's shared 8 KiB slab: never ours to reuse
    pool.give(small);
    const again = pool.take(1000);
    expect(again.buffer === small.buffer && again.byteOffset === small.byteOffset).toBe(false);
    const foreign = Buffer.alloc(129 * KiB).subarray(1); // not from take(): offset 1
    pool.give(foreign);
    expect(pool.take(128 * KiB).buffer).not.toBe(foreign.buffer);
  });

  it('keeps at most keepBytes for reuse', () => {
    const pool = new MessageBuffers(128 * KiB);
    const a = pool.take(64 * KiB);
    const b = pool.take(64 * KiB);
    const c = pool.take(64 * KiB);
    pool.give(a);
    pool.give(b);
    pool.give(c); // over the bound: dropped
    const got = [pool.take(64 * KiB), pool.take(64 * KiB), pool.take(64 * KiB)].map((x) => x.buffer);
    expect(got.slice(0, 2).sort()).toEqual([a.buffer, b.buffer].sort());
    expect(got[2]).not.toBe(c.buffer);
  });
});
