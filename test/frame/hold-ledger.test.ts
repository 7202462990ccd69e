/**
 * HoldLedger (src/frame/hold-ledger.ts): the age and the holders of the
 * oldest unsettled hold (what limits.handlerTimeoutMs judges), marks reused
 * once settled, and releases still in stream order.
 */
import { describe, expect, it } from 'vitest';
import { HoldLedger } from '../../src/frame/hold-ledger.js';
import { Ring } from '../../src/ring/ring.js';

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void } {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A ring with `n` bytes consumed (delivered), ready for the ledger to release. */
function ringWith(n: number): Ring {
  const ring = new Ring(Buffer.alloc(1024));
  ring.commit(n);
  ring.consume(n);
  return ring;
}

describe('HoldLedger', () => {
  it('tells when the oldest hold was placed and which handlers still hold it', async () => {
    const errors: Array<[number, unknown]> = [];
    const ring = ringWith(300);
    const ledger = new HoldLedger(() => ledger.releaseSettled(ring), (i, e) => errors.push([i, e]));
    expect(ledger.oldestHoldSince).toBe(-1);
    const before = Date.now();
    const a = deferred();
    const b = deferred();
    const b2 = deferred();
    ledger.hold(a.promise, 0);
    ledger.hold(b.promise, 2);
    ledger.hold(b2.promise, 2);
    ledger.batchBytes = 100;
    ledger.endBatch(ring);
    const c = deferred();
    ledger.hold(c.promise, 1); // a later batch, held by another handler
    ledger.batchBytes = 200;
    ledger.endBatch(ring);
    expect(ledger.oldestHoldSince).toBeGreaterThanOrEqual(before);
    expect(ledger.oldestHoldSince).toBeLessThanOrEqual(Date.now());
    expect(ledger.oldestHolders()).toEqual([0, 2]);

    a.resolve();
    b.reject(new Error('sink failed'));
    await turn();
    expect(errors).toEqual([[2, new Error('sink failed')]]);
    expect(ledger.oldestHolders(), 'handler 2 still has one hold on the oldest batch').toEqual([2]);
    expect(ring.held).toBe(300);

    b2.resolve();
    await turn();
    expect(ring.held, 'the first batch released, the second still held').toBe(200);
    expect(ledger.oldestHolders()).toEqual([1]);
    c.resolve();
    await turn();
    expect(ring.held).toBe(0);
    expect(ledger.oldestHoldSince).toBe(-1);
    expect(ledger.busy).toBe(false);
  });

  it('reuses settled marks (resolved or rejected): a new batch starts with no holders', async () => {
    const ring = ringWith(20);
    const ledger = new HoldLedger(() => ledger.releaseSettled(ring), () => {});
    for (let i = 0; i < 10; i++) {
      const d = deferred();
      ledger.hold(d.promise, i % 3);
      ledger.batchBytes = 2;
      ledger.endBatch(ring);
      expect(ledger.oldestHolders(), 'no count left over from an earlier use of the mark').toEqual([i % 3]);
      if (i % 2 === 0) d.resolve();
      else d.reject(new Error('rejected holds count down too'));
      await turn();
      expect(ledger.oldestHolders()).toEqual([]);
      expect(ledger.oldestHoldSince).toBe(-1);
    }
    expect(ring.held).toBe(0);
  });

  it('releases later settled batches only after the earlier ones, in order', async () => {
    const ring = ringWith(30);
    const ledger = new HoldLedger(() => ledger.releaseSettled(ring), () => {});
    const first = deferred();
    const second = deferred();
    ledger.hold(first.promise, 0);
    ledger.batchBytes = 10;
    ledger.endBatch(ring);
    ledger.batchBytes = 5; // an unheld batch joins the mark before it
    ledger.endBatch(ring);
    ledger.hold(second.promise, 0);
    ledger.batchBytes = 15;
    ledger.endBatch(ring);
    second.resolve();
    await turn();
    expect(ring.held, 'nothing before the first settles').toBe(30);
    first.resolve();
    await turn();
    expect(ring.held).toBe(0);
  });
});
