/**
 * The live `/status` view: totals, short-window rates and the busiest
 * connections. Computed on request; the hot path only bumps IngestStats.
 */
import { FRAME_ERROR_REASONS } from '../wire/reasons.js';
import type { IngestStats } from '../metrics/ingest-stats.js';

export interface ConnectionStatus {
  id: number | string;
  remoteAddress: string;
  remotePort: number;
  ageSeconds: number;
  packets: number;
  bytes: number;
  /** Bytes held in the ring over its size, 0..1. */
  ringFill: number;
  paused: boolean;
}

export interface StatusTotals {
  packets: number;
  bytes: number;
  frameErrors: number;
  connectionsTotal: number;
  connectionsActive: number;
}

export interface StatusRates {
  packets: number;
  bytes: number;
  frameErrors: number;
}

export interface StatusSnapshot {
  uptimeSeconds: number;
  ready: boolean;
  totals: StatusTotals;
  ratesPerSecond: StatusRates;
  connections: ConnectionStatus[];
  connectionsShown: number;
  /** True when more connections are open than `connections` lists. */
  connectionsTruncated: boolean;
}

export function frameErrorTotal(stats: IngestStats): number {
  let n = 0;
  for (const reason of FRAME_ERROR_REASONS) n += stats.frameErrors[reason];
  return n;
}

export function totalsOf(stats: IngestStats): StatusTotals {
  return {
    packets: stats.packets,
    bytes: stats.bytes,
    frameErrors: frameErrorTotal(stats),
    connectionsTotal: stats.connectionsTotal,
    connectionsActive: stats.connectionsActive,
  };
}

/** The `cap` connections with the most bytes, busiest first; `list` is not modified. */
export function topConnections(list: readonly ConnectionStatus[], cap = 100): ConnectionStatus[] {
  return [...list].sort((a, b) => b.bytes - a.bytes).slice(0, Math.max(0, cap));
}

/** Fields per ring slot: time (ms), packets, bytes, frame errors. */
const SLOT = 4;

/**
 * Per-second rates over the last `windowSeconds`, from totals sampled about
 * once a second into a fixed ring of numbers: `sample()` never allocates.
 * Rates use the real time between the oldest and newest sample, so late or
 * missed ticks do not skew them.
 */
export class RateTracker {
  private readonly ring: Float64Array;
  private readonly slots: number;
  private next = 0;
  private count = 0;

  constructor(windowSeconds = 10) {
    // n intervals need n + 1 samples.
    this.slots = Math.max(2, Math.ceil(windowSeconds) + 1);
    this.ring = new Float64Array(this.slots * SLOT);
  }

  /** `now` in milliseconds from any monotonic clock (performance.now(), Date.now()). */
  sample(now: number, stats: IngestStats): void {
    const o = this.next * SLOT;
    this.ring[o] = now;
    this.ring[o + 1] = stats.packets;
    this.ring[o + 2] = stats.bytes;
    this.ring[o + 3] = frameErrorTotal(stats);
    this.next = (this.next + 1) % this.slots;
    if (this.count < this.slots) this.count++;
  }

  /** Zeros until two samples exist. A total that went down (reset) counts as 0. */
  rates(): StatusRates {
    if (this.count < 2) return { packets: 0, bytes: 0, frameErrors: 0 };
    const newest = ((this.next - 1 + this.slots) % this.slots) * SLOT;
    const oldest = ((this.next - this.count + this.slots) % this.slots) * SLOT;
    const seconds = (this.ring[newest] - this.ring[oldest]) / 1000;
    if (!(seconds > 0)) return { packets: 0, bytes: 0, frameErrors: 0 };
    const rate = (i: number): number => Math.max(0, this.ring[newest + i] - this.ring[oldest + i]) / seconds;
    return { packets: rate(1), bytes: rate(2), frameErrors: rate(3) };
  }
}
