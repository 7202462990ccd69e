import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { COMMIT_TRACKER, CommitTracker, commitTrackerOf, type CommitListener, type TrackedConnection } from '../../src/handlers/commit-tracker.js';
import type { CommitMode, ConnectionInfo } from '../../src/handlers/types.js';

class Recorder implements CommitListener {
  counts: number[] = [];
  samples: number[] = [];
  failures: [number, unknown][] = [];
  onCommitted(count: number): void {
    this.counts.push(count);
  }
  onCommitSample(acceptedAtMs: number): void {
    this.samples.push(acceptedAtMs);
  }
  onCommitFailed(handlerIndex: number, error: unknown): void {
    this.failures.push([handlerIndex, error]);
  }
}

function track(modes: CommitMode[]): { tracker: CommitTracker; seen: Recorder } {
  const seen = new Recorder();
  return { tracker: new CommitTracker(modes, seen), seen };
}

describe('CommitTracker', () => {
  it('commits every accepted frame at once when there are no handlers', () => {
    const { tracker, seen } = track([]);
    tracker.accept(3);
    tracker.accept(10);
    expect(seen.counts).toEqual([3, 10]);
  });

  it('is the minimum over handlers, clamped to the accepted count', () => {
    const { tracker, seen } = track(['settle', 'deferred']);
    tracker.accept(10);
    tracker.settle(0, 10);
    expect(seen.counts).toEqual([]); // the deferred handler committed nothing yet
    tracker.commit(1, 4);
    expect(tracker.committed).toBe(4);
    tracker.commit(1, 12); // committed in onPacket before the read was counted: kept, clamped
    expect(tracker.committed).toBe(10);
    tracker.accept(12);
    expect(tracker.committed).toBe(10); // the settle handler has not finished 11..12
    tracker.settle(0, 12);
    expect(seen.counts).toEqual([4, 10, 12]);
  });

  it('advances a settle handler over its holds in order, whatever order they settle in', () => {
    const { tracker, seen } = track(['settle']);
    tracker.accept(30);
    tracker.hold(0, 10);
    tracker.hold(0, 20);
    tracker.settle(0, 30); // synchronous, but behind two pending holds
    tracker.release(0, 20);
    expect(seen.counts).toEqual([]);
    tracker.release(0, 10);
    expect(seen.counts).toEqual([30]);
  });

  it('ignores lower counts, unknown holds and commits from settle handlers', () => {
    const { tracker, seen } = track(['deferred', 'settle']);
    tracker.accept(9);
    tracker.settle(1, 9);
    tracker.commit(0, 5);
    tracker.commit(0, 3);
    tracker.release(1, 7); // never held
    tracker.commit(1, 9); // a settle handler does not commit explicitly
    expect(seen.counts).toEqual([5]);
  });

  it('freezes a failed handler and tells the listener once', () => {
    const { tracker, seen } = track(['deferred', 'settle']);
    tracker.accept(8);
    tracker.commit(0, 6);
    tracker.settle(1, 8);
    const error = new Error('disk full');
    tracker.fail(0, error);
    tracker.fail(0, new Error('again'));
    tracker.commit(0, 8);
    expect(seen.counts).toEqual([6]);
    expect(seen.failures).toEqual([[0, error]]);
    expect(tracker.failed).toBe(true);
  });

  it('reports the receipt time of every sampled read a commit covers, oldest first', () => {
    const { tracker, seen } = track(['deferred']);
    tracker.accept(5, 1000);
    tracker.accept(9, 1004);
    tracker.accept(12, 1010);
    tracker.commit(0, 10);
    expect(seen.samples).toEqual([1000, 1004]);
    tracker.commit(0, 11); // covers no new sample
    expect(seen.samples).toEqual([1000, 1004]);
    tracker.commit(0, 12);
    expect(seen.counts).toEqual([10, 11, 12]);
    expect(seen.samples).toEqual([1000, 1004, 1010]);
  });

  it('keeps at most 16 samples while nothing commits, spread evenly over the reads', () => {
    const { tracker, seen } = track(['deferred']);
    for (let n = 1; n <= 10_000; n++) tracker.accept(n, n);
    tracker.commit(0, 10_000);
    const s = seen.samples;
    expect(s.length).toBeGreaterThanOrEqual(8);
    expect(s.length).toBeLessThanOrEqual(16);
    // Not bunched at the start: the first and last are near the ends, the gaps equal.
    expect(s[0]).toBeLessThanOrEqual(10_000 / 8);
    expect(s[s.length - 1]).toBeGreaterThanOrEqual(10_000 - 10_000 / 8);
    const gaps = s.slice(1).map((v, i) => v - s[i]);
    expect(Math.max(...gaps)).toBe(Math.min(...gaps));
  });

  it('samples every read again once a commit covered all samples', () => {
    const { tracker, seen } = track(['deferred']);
    for (let n = 1; n <= 100; n++) tracker.accept(n, n);
    tracker.commit(0, 100);
    seen.samples.length = 0;
    for (let n = 101; n <= 104; n++) tracker.accept(n, n);
    tracker.commit(0, 104);
    expect(seen.samples).toEqual([101, 102, 103, 104]);
  });

  it('is found through the connection field, and absent on a plain connection', () => {
    const { tracker } = track([]);
    const plain = { id: 1 } as ConnectionInfo;
    const acked = { id: 2, [COMMIT_TRACKER]: tracker } as TrackedConnection;
    expect(commitTrackerOf(plain)).toBeUndefined();
    expect(commitTrackerOf(acked)).toBe(tracker);
  });
});

/** One step of a connection's life, for the model test. */
type Op =
  | { kind: 'accept'; n: number }
  | { kind: 'hold'; h: number }
  | { kind: 'settle'; h: number }
  | { kind: 'release'; h: number; pick: number }
  | { kind: 'commit'; h: number; pick: number }
  | { kind: 'fail'; h: number };

describe('CommitTracker against a model', () => {
  it('never reports above the true minimum, never decreases, and reaches it', () => {
    const modesArb = fc.array(fc.constantFrom<CommitMode>('settle', 'deferred'), { maxLength: 4 });
    const opArb = (handlers: number): fc.Arbitrary<Op> => {
      const h = fc.nat({ max: Math.max(handlers - 1, 0) });
      const ops: fc.Arbitrary<Op>[] = [fc.integer({ min: 1, max: 5 }).map((n) => ({ kind: 'accept' as const, n }))];
      if (handlers > 0) {
        ops.push(
          h.map((i) => ({ kind: 'hold' as const, h: i })),
          h.map((i) => ({ kind: 'settle' as const, h: i })),
          fc.tuple(h, fc.nat()).map(([i, pick]) => ({ kind: 'release' as const, h: i, pick })),
          fc.tuple(h, fc.nat()).map(([i, pick]) => ({ kind: 'commit' as const, h: i, pick })),
          h.map((i) => ({ kind: 'fail' as const, h: i })),
        );
      }
      return fc.oneof(...ops);
    };
    const scenario = modesArb.chain((modes) => fc.tuple(fc.constant(modes), fc.array(opArb(modes.length), { maxLength: 80 })));

    fc.assert(
      fc.property(scenario, ([modes, ops]) => {
        const { tracker, seen } = track(modes);
        // The model: accepted count, per settle handler its holds in order, per deferred its commits.
        let accepted = 0;
        const holds = modes.map(() => [] as { upTo: number; done: boolean }[]);
        const deferredMark = modes.map(() => 0);
        const failed = modes.map(() => false);
        const frozenMark = modes.map(() => -1);
        const trueMark = (h: number): number => {
          if (frozenMark[h] >= 0) return frozenMark[h];
          if (modes[h] === 'deferred') return deferredMark[h];
          let mark = 0;
          for (const hold of holds[h]) {
            if (!hold.done) break;
            mark = Math.max(mark, hold.upTo);
          }
          return mark;
        };
        const truth = (): number => Math.min(accepted, ...modes.map((_, h) => trueMark(h)));

        let previous = 0;
        for (const op of ops) {
          switch (op.kind) {
            case 'accept':
              accepted += op.n;
              tracker.accept(accepted);
              break;
            case 'hold':
              if (modes[op.h] !== 'settle' || failed[op.h]) break;
              holds[op.h].push({ upTo: accepted, done: false });
              tracker.hold(op.h, accepted);
              break;
            case 'settle':
              if (modes[op.h] !== 'settle' || failed[op.h]) break;
              holds[op.h].push({ upTo: accepted, done: true });
              tracker.settle(op.h, accepted);
              break;
            case 'release': {
              const open = holds[op.h].filter((x) => !x.done);
              if (open.length === 0 || failed[op.h]) break;
              const hold = open[op.pick % open.length];
              // The tracker settles the first open hold with that upTo: so does the model.
              const first = holds[op.h].find((x) => !x.done && x.upTo === hold.upTo);
              if (first) first.done = true;
              tracker.release(op.h, hold.upTo);
              break;
            }
            case 'commit': {
              if (modes[op.h] !== 'deferred' || failed[op.h]) break;
              // An honest handler commits a count it was handed: 0..accepted.
              const count = op.pick % (accepted + 1);
              deferredMark[op.h] = Math.max(deferredMark[op.h], count);
              tracker.commit(op.h, count);
              break;
            }
            case 'fail':
              if (failed[op.h]) break;
              frozenMark[op.h] = trueMark(op.h);
              failed[op.h] = true;
              tracker.fail(op.h, new Error('x'));
              break;
          }
          expect(tracker.committed).toBeLessThanOrEqual(truth());
          expect(tracker.committed).toBeGreaterThanOrEqual(previous);
          expect(tracker.committed).toBe(truth()); // and it is never late either
          previous = tracker.committed;
        }
        for (let i = 1; i < seen.counts.length; i++) expect(seen.counts[i]).toBeGreaterThan(seen.counts[i - 1]);
        expect(seen.failures.map(([h]) => h)).toEqual(ops.filter((o): o is Extract<Op, { kind: 'fail' }> => o.kind === 'fail').map((o) => o.h).filter((h, i, a) => a.indexOf(h) === i));
      }),
      { numRuns: 500 },
    );
  });
});
