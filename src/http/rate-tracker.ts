/**
 * Per-second history and windowed rates for /status, from totals sampled
 * about once a second into a fixed ring of numbers (sample() never
 * allocates). Owned by the server; read by /status.
 *
 *   slot: [time ms, packets, bytes, frame errors, max lag in that second]
 *   ring: the last HISTORY + 1 samples, oldest overwritten first
 *
 * Rates end at *now* with the current totals, not at the last sample, and
 * begin at the oldest sample inside the window: so they fall to 0 once
 * traffic stops, even if the sampling timer stalled (a request that finds
 * the newest sample a second old takes one itself).
 */
import type { IngestStats } from '../metrics/ingest-stats.js';
import { frameErrorTotal } from './status-totals.js';

/** Fields per ring slot. */
const SLOT = 5;

export interface WindowRates {
  windowSeconds: number;
  packetsPerSecond: number;
  bytesPerSecond: number;
  frameErrorsPerSecond: number;
}

export interface RateHistory {
  /** Seconds between two entries. */
  intervalSeconds: 1;
  /** Oldest first; one entry per interval, the newest ending at the last sample. */
  packetsPerSecond: number[];
  bytesPerSecond: number[];
}

export class RateTracker {
  readonly windowSeconds: number;
  readonly historySeconds: number;
  private readonly ring: Float64Array;
  private readonly slots: number;
  private next = 0;
  private count = 0;

  constructor(windowSeconds = 10, historySeconds = 60) {
    this.windowSeconds = windowSeconds;
    this.historySeconds = Math.max(historySeconds, windowSeconds);
    // n intervals need n + 1 samples.
    this.slots = Math.ceil(this.historySeconds) + 1;
    this.ring = new Float64Array(this.slots * SLOT);
  }

  /** `now` in ms from a monotonic clock. Takes (and resets) the lag maximum of the second. */
  sample(now: number, stats: IngestStats): void {
    const o = this.next * SLOT;
    this.ring[o] = now;
    this.ring[o + 1] = stats.packets;
    this.ring[o + 2] = stats.bytes;
    this.ring[o + 3] = frameErrorTotal(stats);
    this.ring[o + 4] = stats.lagMaxSeconds;
    stats.lagMaxSeconds = -1;
    this.next = (this.next + 1) % this.slots;
    if (this.count < this.slots) this.count++;
  }

  /** Samples if the newest sample is a second old or more (or there is none). */
  catchUp(now: number, stats: IngestStats): void {
    if (this.count === 0 || now - this.ring[this.slot(0)] >= 1000) this.sample(now, stats);
  }

  /** Rates over the last windowSeconds up to `now`, with the current totals. A total that went down counts as 0. */
  rates(now: number, stats: IngestStats): WindowRates {
    const zero = { windowSeconds: this.windowSeconds, packetsPerSecond: 0, bytesPerSecond: 0, frameErrorsPerSecond: 0 };
    const from = this.oldestWithin(now, this.windowSeconds * 1000);
    if (from < 0) return zero;
    const seconds = (now - this.ring[from]) / 1000;
    if (!(seconds > 0.5)) return zero; // too short a base to mean anything
    const rate = (total: number, i: number): number => Math.max(0, total - this.ring[from + i]) / seconds;
    return {
      windowSeconds: this.windowSeconds,
      packetsPerSecond: rate(stats.packets, 1),
      bytesPerSecond: rate(stats.bytes, 2),
      frameErrorsPerSecond: rate(frameErrorTotal(stats), 3),
    };
  }

  /** Per-interval rates between consecutive samples, oldest first. */
  history(): RateHistory {
    const packets: number[] = [];
    const bytes: number[] = [];
    for (let age = this.count - 2; age >= 0; age--) {
      const a = this.slot(age + 1);
      const b = this.slot(age);
      const seconds = (this.ring[b] - this.ring[a]) / 1000;
      packets.push(seconds > 0 ? Math.max(0, this.ring[b + 1] - this.ring[a + 1]) / seconds : 0);
      bytes.push(seconds > 0 ? Math.max(0, this.ring[b + 2] - this.ring[a + 2]) / seconds : 0);
    }
    return { intervalSeconds: 1, packetsPerSecond: packets, bytesPerSecond: bytes };
  }

  /** Largest lag seen in the window (seconds), or null if none was observed. */
  lagMax(now: number, current: number): number | null {
    let max = current;
    for (let age = 0; age < this.count; age++) {
      const o = this.slot(age);
      if (now - this.ring[o] > this.windowSeconds * 1000) break;
      max = Math.max(max, this.ring[o + 4]);
    }
    return max >= 0 ? max : null;
  }

  /** Ring offset of the sample `age` steps back (0 = newest). */
  private slot(age: number): number {
    return ((this.next - 1 - age + this.slots * 2) % this.slots) * SLOT;
  }

  /** Offset of the oldest sample no older than `ms` before now, or -1. */
  private oldestWithin(now: number, ms: number): number {
    let found = -1;
    for (let age = 0; age < this.count; age++) {
      const o = this.slot(age);
      if (now - this.ring[o] > ms + 250) break; // a tick may be a little late
      found = o;
    }
    return found;
  }
}
