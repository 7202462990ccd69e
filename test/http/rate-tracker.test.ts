import { describe, expect, it } from 'vitest';
import { RateTracker } from '../../src/http/rate-tracker.js';
import { IngestStats } from '../../src/metrics/ingest-stats.js';

describe('RateTracker', () => {
  it('reports zeros until a sample is old enough to be a base', () => {
    const t = new RateTracker();
    const stats = new IngestStats();
    expect(t.rates(0, stats)).toEqual({ windowSeconds: 10, packetsPerSecond: 0, bytesPerSecond: 0, frameErrorsPerSecond: 0 });
    t.sample(0, stats);
    stats.packets = 100;
    expect(t.rates(100, stats).packetsPerSecond).toBe(0);
    expect(t.rates(1000, stats).packetsPerSecond).toBe(100);
  });

  it('computes per-second rates from the oldest sample in the window to now', () => {
    const t = new RateTracker(10);
    const stats = new IngestStats();
    for (let s = 0; s <= 4; s++) {
      stats.packets = s * 100;
      stats.bytes = s * 6400;
      stats.frameErrors.bad_magic = s;
      stats.frameErrors.truncated = s;
      t.sample(s * 1000, stats);
    }
    expect(t.rates(4000, stats)).toEqual({ windowSeconds: 10, packetsPerSecond: 100, bytesPerSecond: 6400, frameErrorsPerSecond: 2 });
  });

  it('falls to 0 after traffic stops, even when no sample was taken since', () => {
    const t = new RateTracker(10);
    const stats = new IngestStats();
    for (let s = 0; s <= 5; s++) {
      stats.packets = s * 20_000;
      t.sample(s * 1000, stats);
    }
    expect(t.rates(5000, stats).packetsPerSecond).toBe(20_000);
    // The timer stalled: the last sample is from 5 s; 30 s later nothing in the window is a base.
    expect(t.rates(35_000, stats).packetsPerSecond).toBe(0);
    // And catchUp() (what /status does) starts a fresh base: still 0 with no new traffic.
    t.catchUp(35_000, stats);
    expect(t.rates(36_000, stats).packetsPerSecond).toBe(0);
  });

  it('keeps only the window: an old burst leaves it', () => {
    const t = new RateTracker(10);
    const stats = new IngestStats();
    t.sample(0, stats);
    stats.packets = 1_000_000;
    for (let s = 1; s <= 30; s++) {
      stats.packets += s > 1 ? 10 : 0;
      t.sample(s * 1000, stats);
    }
    expect(t.rates(30_000, stats).packetsPerSecond).toBe(10);
  });

  it('uses real elapsed time when ticks are late, and never goes negative', () => {
    const t = new RateTracker(10);
    const stats = new IngestStats();
    t.sample(0, stats);
    stats.bytes = 3000;
    expect(t.rates(1500, stats).bytesPerSecond).toBe(2000);
    stats.packets = 50;
    t.sample(2000, stats);
    stats.packets = 0;
    expect(t.rates(3000, stats).packetsPerSecond).toBe(0);
  });

  it('keeps a per-second history, oldest first, bounded by historySeconds', () => {
    const t = new RateTracker(10, 60);
    const stats = new IngestStats();
    for (let s = 0; s <= 100; s++) {
      stats.packets = s * s;
      t.sample(s * 1000, stats);
    }
    const h = t.history();
    expect(h.packetsPerSecond).toHaveLength(60);
    expect(h.packetsPerSecond[59]).toBe(100 * 100 - 99 * 99);
    expect(h.packetsPerSecond[0]).toBe(41 * 41 - 40 * 40);
  });

  it('takes the lag maximum per second and reports the largest in the window', () => {
    const t = new RateTracker(10);
    const stats = new IngestStats();
    stats.lagMaxSeconds = 2;
    t.sample(0, stats);
    expect(stats.lagMaxSeconds).toBe(-1);
    stats.lagMaxSeconds = 0.5;
    t.sample(1000, stats);
    expect(t.lagMax(1000, -1)).toBe(2);
    expect(t.lagMax(10_800, -1)).toBe(0.5); // the 2 s sample left the window
    expect(t.lagMax(30_000, -1)).toBeNull();
  });
});
