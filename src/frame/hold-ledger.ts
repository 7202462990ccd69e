/**
 * The holds handlers put on delivered bytes, for one FrameReader: which ring
 * bytes (and oversize frames) may be released, and when.
 *
 * A batch is the frames of one read. Bytes consumed by a batch are released
 * at its end if nobody held it; otherwise they go into a release mark that
 * waits for every promise on it. Marks are released strictly in order (the
 * ring releases from its head), so bytes of an unheld batch after a held one
 * join the held one's mark:
 *
 *   batches:  [b1 held] [b2 no hold] [b3 held]
 *   marks:    [ m1: b1+b2 bytes ]    [ m3: b3 bytes ]
 *   settle(m3) first: nothing yet; settle(m1): m1 then m3 released.
 *
 * One mark per batch, not per frame or per promise, and settled marks are
 * reused: steady holding allocates no mark and no closure, however many
 * handlers hold how many frames. Each mark notes when it was first held and
 * how many holds each handler still has on it, for limits.handlerTimeoutMs
 * (src/handlers/handler-timeout.ts): the front mark is the oldest hold.
 * State is owned by the reader; at close the ring goes back only once every
 * mark settled (the reader checks `busy`).
 */
import type { Ring } from '../ring/ring.js';

/** Settled marks kept for reuse per ledger: steady holding allocates no mark. */
const SPARE_MARKS = 4;

/** Bytes of one or more batches, released together once every hold on them settled. */
class ReleaseMark {
  bytes = 0;
  /** Oversize frames delivered in its batches: not ring bytes, but held all the same. */
  bigBytes = 0;
  pending = 0;
  /** Date.now() at its first hold: how old the oldest unsettled hold is (handler-timeout.ts). */
  since = 0;
  /** Unsettled holds per handler index: who to blame when it is too old. */
  readonly pendingBy: number[] = [];
  // Per handler index, made once per mark (marks are reused): no closure per hold.
  private readonly settlers: Array<(() => void) | undefined> = [];
  private readonly rejecters: Array<((error: unknown) => void) | undefined> = [];
  constructor(
    private readonly ledger: HoldLedger,
    private readonly onHoldError: (index: number, error: unknown) => void,
  ) {}
  settler(index: number): () => void {
    return (this.settlers[index] ??= () => {
      this.pendingBy[index]--;
      this.settle();
    });
  }
  rejecter(index: number): (error: unknown) => void {
    return (this.rejecters[index] ??= (error: unknown) => {
      this.pendingBy[index]--;
      this.onHoldError(index, error);
      this.settle();
    });
  }
  reset(): void {
    this.bytes = this.bigBytes = this.pending = this.since = 0;
  }
  private settle(): void {
    this.pending--;
    if (this.pending === 0) this.ledger.settledOne();
  }
}

export class HoldLedger {
  /** Oversize-frame bytes still held by marks (one oversize frame per connection at a time). */
  heldBig = 0;
  /** Bytes consumed in the current batch, not yet assigned to a release. */
  batchBytes = 0;
  /** Oversize frames delivered in the current batch. */
  batchBig = 0;
  private batchMark: ReleaseMark | null = null;
  private readonly marks: ReleaseMark[] = [];
  private readonly spare: ReleaseMark[] = [];

  constructor(
    /** Called when the front marks settled and `ring` bytes were released. */
    private readonly onSettled: () => void,
    private readonly onHoldError: (index: number, error: unknown) => void,
  ) {}

  /** A mark is open or waiting: the ring must stay. */
  get busy(): boolean {
    return this.marks.length > 0 || this.batchMark !== null;
  }

  /** Date.now() of the oldest unsettled hold (the front mark's first hold), or -1 if none. */
  get oldestHoldSince(): number {
    return this.marks.length > 0 ? this.marks[0].since : -1;
  }

  /** Indices of the handlers whose holds keep the oldest mark unsettled (off the hot path). */
  oldestHolders(): number[] {
    const out: number[] = [];
    const pendingBy = this.marks.length > 0 ? this.marks[0].pendingBy : [];
    for (let i = 0; i < pendingBy.length; i++) if (pendingBy[i] > 0) out.push(i);
    return out;
  }

  /** Register a handler's promise on the frames of the current batch. */
  hold(promise: PromiseLike<unknown>, handlerIndex: number): void {
    let mark = this.batchMark;
    if (mark === null) {
      mark = this.batchMark = this.spare.pop() ?? new ReleaseMark(this, this.onHoldError);
      mark.since = Date.now(); // one clock read per held batch (a read), as the lag sample
    }
    mark.pending++;
    mark.pendingBy[handlerIndex] = (mark.pendingBy[handlerIndex] ?? 0) + 1;
    promise.then(mark.settler(handlerIndex), mark.rejecter(handlerIndex));
  }

  /** Closes the current batch: release its bytes now, or put them on a mark. */
  endBatch(ring: Ring | null): void {
    const mark = this.batchMark;
    this.batchMark = null;
    const bytes = this.batchBytes;
    this.batchBytes = 0;
    const bigBytes = this.batchBig;
    this.batchBig = 0;
    if (mark !== null) {
      mark.bytes += bytes;
      mark.bigBytes += bigBytes;
      this.heldBig += bigBytes;
      this.marks.push(mark);
    } else if (this.marks.length > 0) {
      this.marks[this.marks.length - 1].bytes += bytes; // released after the holds before it
    } else if (bytes > 0) {
      (ring as Ring).release(bytes);
    }
  }

  /** Releases every settled mark at the front, in order. */
  releaseSettled(ring: Ring): void {
    while (this.marks.length > 0 && this.marks[0].pending === 0) {
      const mark = this.marks.shift() as ReleaseMark;
      ring.release(mark.bytes);
      this.heldBig -= mark.bigBytes;
      mark.reset(); // every hold on it settled: no callback can reach it again
      if (this.spare.length < SPARE_MARKS) this.spare.push(mark);
    }
  }

  /** @internal A mark reached zero pending. */
  settledOne(): void {
    this.onSettled();
  }
}
