import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RingError } from '../../src/errors.js';
import { Ring } from '../../src/ring/ring.js';

function ringOf(capacity: number): Ring {
  const ring = new Ring(Buffer.alloc(capacity));
  return ring;
}

/** Commits `n` bytes with values from `first` upwards (mod 256). */
function commitBytes(ring: Ring, n: number, first = 0): void {
  for (let i = 0; i < n; i++) ring.buffer[ring.tail + i] = (first + i) & 0xff;
  ring.commit(n);
}

function heldBytes(ring: Ring): number[] {
  const b = ring.buffer;
  return ring.wrapped ? [...b.subarray(ring.head, ring.wrapEnd), ...b.subarray(0, ring.cursor)] : [...b.subarray(ring.head, ring.cursor)];
}

function pendingBytes(ring: Ring): number[] {
  return [...ring.buffer.subarray(ring.cursor, ring.tail)];
}

function expectRingError(fn: () => unknown): void {
  expect(fn).toThrow(RingError);
  try {
    fn();
  } catch (error) {
    expect((error as RingError).code).toBe('PKT_ERR_RING');
  }
}

const range = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => (from + i) & 0xff);

describe('Ring', () => {
  it('starts empty with the whole buffer writable', () => {
    const ring = ringOf(100);
    expect([ring.head, ring.cursor, ring.tail, ring.wrapEnd]).toEqual([0, 0, 0, -1]);
    expect([ring.used, ring.pending, ring.held, ring.writable, ring.capacity]).toEqual([0, 0, 0, 100, 100]);
    expect(ring.wrapped).toBe(false);
  });

  it('moves bytes from writable to pending to held to released', () => {
    const ring = ringOf(100);
    commitBytes(ring, 90);
    expect([ring.pending, ring.held, ring.used, ring.writable]).toEqual([90, 0, 90, 10]);
    ring.consume(60);
    expect([ring.pending, ring.held, ring.used, ring.cursor]).toEqual([30, 60, 90, 60]);
    ring.release(45);
    expect([ring.head, ring.pending, ring.held, ring.used, ring.writable]).toEqual([45, 30, 15, 45, 10]);
    expect(pendingBytes(ring)).toEqual(range(60, 30));
    expect(heldBytes(ring)).toEqual(range(45, 15));
  });

  it('grants a reserve that already fits without moving anything', () => {
    const ring = ringOf(100);
    commitBytes(ring, 40);
    ring.consume(10);
    expect(ring.reserve(60)).toBe(true);
    expect([ring.head, ring.cursor, ring.tail, ring.moves]).toEqual([0, 10, 40, 0]);
  });

  it('moves the pending bytes to the front on reserve when nothing is held', () => {
    const ring = ringOf(100);
    commitBytes(ring, 90);
    ring.consume(80);
    ring.release(80);
    expect(ring.reserve(30)).toBe(true);
    expect([ring.head, ring.cursor, ring.tail, ring.wrapEnd]).toEqual([0, 0, 10, -1]);
    expect(pendingBytes(ring)).toEqual(range(80, 10));
    expect(ring.writable).toBe(90);
    expect([ring.moves, ring.movedBytes]).toEqual([1, 10]);
  });

  it('rewinds to the front without counting a move when nothing is pending', () => {
    const ring = ringOf(100);
    commitBytes(ring, 95);
    ring.consume(95);
    ring.release(95);
    expect(ring.reserve(50)).toBe(true);
    expect([ring.head, ring.cursor, ring.tail, ring.moves, ring.movedBytes]).toEqual([0, 0, 0, 0, 0]);
  });

  it('grants a reserve of the whole capacity minus the pending bytes', () => {
    const ring = ringOf(100);
    commitBytes(ring, 100);
    ring.consume(70);
    ring.release(70);
    expect(ring.reserve(70)).toBe(true);
    expect(ring.writable).toBe(70);
    expect(pendingBytes(ring)).toEqual(range(70, 30));
  });

  it('wraps to the front when held bytes are in the way but the front is free', () => {
    const ring = ringOf(100);
    commitBytes(ring, 90);
    ring.consume(80);
    ring.release(40); // held [40, 80), pending [80, 90)
    expect(ring.reserve(25)).toBe(true);
    expect(ring.wrapped).toBe(true);
    expect([ring.head, ring.wrapEnd, ring.cursor, ring.tail]).toEqual([40, 80, 0, 10]);
    expect(ring.writable).toBe(30);
    expect(heldBytes(ring)).toEqual(range(40, 40));
    expect(pendingBytes(ring)).toEqual(range(80, 10));
    expect([ring.used, ring.held, ring.pending]).toEqual([50, 40, 10]);
  });

  it('refuses a reserve (false) when held bytes leave no contiguous room, and changes nothing', () => {
    const ring = ringOf(100);
    commitBytes(ring, 90);
    ring.consume(80);
    ring.release(30); // held [30, 80), pending [80, 90): the front has 30 < 10 + 25
    const before = [ring.head, ring.cursor, ring.tail, ring.wrapEnd];
    expect(ring.reserve(25)).toBe(false);
    expect([ring.head, ring.cursor, ring.tail, ring.wrapEnd]).toEqual(before);
    expect(pendingBytes(ring)).toEqual(range(80, 10));
  });

  it('refuses a reserve while wrapped until the older segment drains', () => {
    const ring = ringOf(100);
    commitBytes(ring, 90);
    ring.consume(80);
    ring.release(40);
    expect(ring.reserve(25)).toBe(true); // wrapped: writable [10, 40)
    commitBytes(ring, 30, 200);
    ring.consume(5);
    expect(ring.writable).toBe(0);
    expect(ring.reserve(1)).toBe(false);
    ring.release(40); // the whole older segment
    expect(ring.wrapped).toBe(false);
    expect(ring.head).toBe(0);
    expect(ring.reserve(1)).toBe(true);
    expect(ring.writable).toBe(60);
  });

  it('releases across the wrap: the older segment first, then the front', () => {
    const ring = ringOf(100);
    commitBytes(ring, 90);
    ring.consume(80);
    ring.release(40);
    ring.reserve(25); // older [40, 80), newer pending [0, 10)
    ring.consume(10); // newer held [0, 10)
    expect(ring.held).toBe(50);
    ring.release(15);
    expect([ring.head, ring.wrapEnd, ring.held]).toEqual([55, 80, 35]);
    ring.release(30); // 25 left in the older segment, 5 from the front
    expect([ring.head, ring.wrapEnd, ring.held, ring.wrapped]).toEqual([5, -1, 5, false]);
    expect(heldBytes(ring)).toEqual(range(85, 5));
    ring.release(5);
    expect(ring.used).toBe(0);
  });

  it('unwraps when a release ends exactly at the end of the older segment', () => {
    const ring = ringOf(100);
    commitBytes(ring, 90);
    ring.consume(80);
    ring.release(40);
    ring.reserve(25);
    ring.release(40);
    expect([ring.head, ring.wrapEnd, ring.cursor, ring.tail]).toEqual([0, -1, 0, 10]);
  });

  it('throws RingError on misuse: commit past writable, consume past pending, release past held, impossible reserve', () => {
    const ring = ringOf(100);
    expectRingError(() => ring.commit(101));
    expectRingError(() => ring.commit(-1));
    commitBytes(ring, 50);
    expectRingError(() => ring.consume(51));
    expectRingError(() => ring.consume(-1));
    ring.consume(20);
    expectRingError(() => ring.release(21));
    expectRingError(() => ring.release(-1));
    expectRingError(() => ring.reserve(0));
    expectRingError(() => ring.reserve(71)); // 30 pending + 71 > 100
    expect(ring.reserve(70)).toBe(false); // fits the capacity, but 20 held bytes are in the way
    // A failed call changes nothing.
    expect([ring.head, ring.cursor, ring.tail]).toEqual([0, 20, 50]);
  });

  it('forgets everything on reset', () => {
    const ring = ringOf(100);
    commitBytes(ring, 90);
    ring.consume(80);
    ring.release(40);
    ring.reserve(25);
    ring.reset();
    expect([ring.head, ring.cursor, ring.tail, ring.wrapEnd, ring.used]).toEqual([0, 0, 0, -1, 0]);
  });

  it('preserves held and pending bytes under any sequence of commit, consume, release and reserve (model)', () => {
    type Op = { kind: 'commit' | 'consume' | 'release' | 'reserve'; n: number };
    const nArb = fc.oneof(fc.integer({ min: 0, max: 4 }), fc.nat());
    const opArb: fc.Arbitrary<Op> = fc.record({ kind: fc.constantFrom('commit', 'consume', 'release', 'reserve'), n: nArb });
    // A lap: one of each, in the order a reader does them (wrapping needs all four in turn).
    const lapArb: fc.Arbitrary<Op[]> = fc
      .tuple(nArb, nArb, nArb, nArb)
      .map(([a, b, c, d]) => [
        { kind: 'commit', n: a },
        { kind: 'consume', n: b },
        { kind: 'release', n: c },
        { kind: 'reserve', n: d },
      ]);
    const opsArb = fc.array(fc.oneof(opArb.map((op) => [op]), lapArb), { maxLength: 60 }).map((groups) => groups.flat());
    // An amount up to `max`: n in 0..4 means 0, a quarter, a half, three quarters or all of it
    // (so rings fill up to their end and wrap often); larger n is taken modulo.
    const amount = (n: number, max: number): number => (n <= 4 ? Math.round((max * n) / 4) : n % (max + 1));
    let wraps = 0;
    fc.assert(
      fc.property(fc.integer({ min: 8, max: 64 }), opsArb, (capacity, ops) => {
        const ring = ringOf(capacity);
        const held: number[] = [];
        const pending: number[] = [];
        let next = 0;
        for (const { kind, n } of ops) {
          if (kind === 'commit') {
            const k = amount(n, ring.writable);
            for (let i = 0; i < k; i++) {
              ring.buffer[ring.tail + i] = next & 0xff;
              pending.push(next++ & 0xff);
            }
            ring.commit(k);
          } else if (kind === 'consume') {
            const k = amount(n, pending.length);
            ring.consume(k);
            held.push(...pending.splice(0, k));
          } else if (kind === 'release') {
            const k = amount(n, held.length);
            ring.release(k);
            held.splice(0, k);
          } else {
            const room = capacity - pending.length;
            if (room < 1) continue;
            const need = 1 + amount(n, room - 1);
            const expected =
              ring.writable >= need || (!ring.wrapped && (held.length === 0 || ring.head >= pending.length + need));
            const granted = ring.reserve(need);
            expect(granted).toBe(expected);
            if (granted) expect(ring.writable).toBeGreaterThanOrEqual(need);
            if (granted && ring.wrapped) wraps++;
          }
          // Invariants of the two layouts.
          if (ring.wrapped) {
            expect(0 <= ring.cursor && ring.cursor <= ring.tail && ring.tail <= ring.head).toBe(true);
            expect(ring.head < ring.wrapEnd && ring.wrapEnd <= capacity).toBe(true);
          } else {
            expect(0 <= ring.head && ring.head <= ring.cursor && ring.cursor <= ring.tail && ring.tail <= capacity).toBe(true);
          }
          expect([ring.held, ring.pending, ring.used]).toEqual([held.length, pending.length, held.length + pending.length]);
          expect(heldBytes(ring)).toEqual(held);
          expect(pendingBytes(ring)).toEqual(pending);
        }
      }),
      { numRuns: 400 },
    );
    expect(wraps).toBeGreaterThan(0); // the runs did exercise the wrapped layout
  });
});
