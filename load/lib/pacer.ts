/**
 * Even pacing for a target rate: frame n (0-based) is due n / rate seconds
 * after the start. Senders ask how many frames are due now and, when ahead,
 * how long to wait; timer granularity only batches a few frames together, it
 * never changes the average rate.
 */
export class Pacer {
  /** `perSecond` > 0; `startMs` on the performance.now() clock. */
  constructor(
    private readonly perSecond: number,
    private readonly startMs: number,
  ) {
    if (!(perSecond > 0)) throw new RangeError(`pacing rate must be > 0, got ${perSecond}`);
  }

  /** Frames that may have been sent by `nowMs`: the first at the start, then evenly spaced. */
  due(nowMs: number): number {
    return Math.floor(((nowMs - this.startMs) * this.perSecond) / 1000) + 1;
  }

  /** Ms from `nowMs` until frame `n` (0-based) is due; 0 if it already is. */
  delayUntil(n: number, nowMs: number): number {
    return Math.max(0, this.startMs + (n * 1000) / this.perSecond - nowMs);
  }
}
