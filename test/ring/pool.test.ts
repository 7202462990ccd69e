import { describe, expect, it } from 'vitest';
import { RingPool } from '../../src/ring/pool.js';
import { Ring } from '../../src/ring/ring.js';

describe('RingPool', () => {
  it('lends rings of the configured size and counts them', () => {
    const pool = new RingPool(4096);
    const a = pool.acquire();
    const b = pool.acquire();
    expect(a).toBeInstanceOf(Ring);
    expect(a.capacity).toBe(4096);
    expect(a.buffer.length).toBe(4096);
    expect(a).not.toBe(b);
    expect(a.buffer.buffer).not.toBe(b.buffer.buffer);
    expect(pool.inUse).toBe(2);
    expect(pool.freeCount).toBe(0);
  });

  it('reuses a returned ring, reset to empty', () => {
    const pool = new RingPool(64);
    const ring = pool.acquire();
    ring.commit(40);
    ring.consume(30);
    ring.release(10);
    pool.release(ring);
    expect(pool.inUse).toBe(0);
    expect(pool.freeCount).toBe(1);
    const again = pool.acquire();
    expect(again).toBe(ring);
    expect([again.head, again.cursor, again.tail, again.wrapEnd, again.used]).toEqual([0, 0, 0, -1, 0]);
    expect(pool.freeCount).toBe(0);
  });

  it('keeps at most maxFree spare rings and drops the rest', () => {
    const pool = new RingPool(64, 2);
    const rings = [pool.acquire(), pool.acquire(), pool.acquire()];
    for (const r of rings) pool.release(r);
    expect(pool.freeCount).toBe(2);
    expect(pool.inUse).toBe(0);
    const reused = [pool.acquire(), pool.acquire()];
    expect(reused.every((r) => rings.includes(r))).toBe(true);
    const fresh = pool.acquire();
    expect(rings.includes(fresh)).toBe(false);
  });

  it('keeps no spare ring with maxFree 0', () => {
    const pool = new RingPool(64, 0);
    const ring = pool.acquire();
    pool.release(ring);
    expect(pool.freeCount).toBe(0);
    expect(pool.acquire()).not.toBe(ring);
  });
});
