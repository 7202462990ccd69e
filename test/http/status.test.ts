import { describe, expect, it } from 'vitest';
import { RateTracker, topConnections, totalsOf, type ConnectionStatus } from '../../src/http/status.js';
import { IngestStats } from '../../src/metrics/ingest-stats.js';

function conn(id: number, bytes: number): ConnectionStatus {
  return { id, remoteAddress: '127.0.0.1', remotePort: 40000 + id, ageSeconds: 1, packets: 1, bytes, ringFill: 0, paused: false };
}

describe('RateTracker', () => {
  it('reports zeros until two samples exist', () => {
    const t = new RateTracker();
    expect(t.rates()).toEqual({ packets: 0, bytes: 0, frameErrors: 0 });
    t.sample(0, new IngestStats());
    expect(t.rates()).toEqual({ packets: 0, bytes: 0, frameErrors: 0 });
  });

  it('computes per-second rates between the oldest and newest sample', () => {
    const t = new RateTracker(10);
    const stats = new IngestStats();
    for (let s = 0; s <= 4; s++) {
      stats.packets = s * 100;
      stats.bytes = s * 6400;
      stats.frameErrors.bad_magic = s;
      stats.frameErrors.truncated = s;
      t.sample(s * 1000, stats);
    }
    expect(t.rates()).toEqual({ packets: 100, bytes: 6400, frameErrors: 2 });
  });

  it('keeps only the last ~10 s: an old burst leaves the window', () => {
    const t = new RateTracker(10);
    const stats = new IngestStats();
    t.sample(0, stats);
    stats.packets = 1_000_000; // burst in the first second
    for (let s = 1; s <= 30; s++) {
      stats.packets += s > 1 ? 10 : 0;
      t.sample(s * 1000, stats);
    }
    // Window is seconds 20..30: steady 10/s, the burst is gone.
    expect(t.rates().packets).toBe(10);
  });

  it('uses real elapsed time when ticks are late', () => {
    const t = new RateTracker(10);
    const stats = new IngestStats();
    t.sample(0, stats);
    stats.bytes = 3000;
    t.sample(1500, stats);
    expect(t.rates().bytes).toBe(2000);
  });

  it('never reports a negative rate', () => {
    const t = new RateTracker(10);
    const stats = new IngestStats();
    stats.packets = 50;
    t.sample(0, stats);
    stats.packets = 0;
    t.sample(1000, stats);
    expect(t.rates().packets).toBe(0);
  });
});

describe('topConnections', () => {
  it('sorts by bytes, busiest first, and caps without touching the input', () => {
    const list = [conn(1, 10), conn(2, 500), conn(3, 50), conn(4, 0)];
    expect(topConnections(list, 2).map((c) => c.id)).toEqual([2, 3]);
    expect(topConnections(list).map((c) => c.id)).toEqual([2, 3, 1, 4]);
    expect(list.map((c) => c.id)).toEqual([1, 2, 3, 4]);
  });

  it('caps at 100 by default', () => {
    const list = Array.from({ length: 250 }, (_, i) => conn(i, i));
    const top = topConnections(list);
    expect(top).toHaveLength(100);
    expect(top[0].bytes).toBe(249);
  });
});

describe('totalsOf', () => {
  it('sums frame errors over every reason', () => {
    const stats = new IngestStats();
    stats.packets = 3;
    stats.frameErrors.crc_mismatch = 2;
    stats.frameErrors.bad_magic = 1;
    stats.connectionsTotal = 4;
    stats.connectionsActive = 1;
    expect(totalsOf(stats)).toEqual({ packets: 3, bytes: 0, frameErrors: 3, connectionsTotal: 4, connectionsActive: 1 });
  });
});
