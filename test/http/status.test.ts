import { describe, expect, it } from 'vitest';
import { RateTracker, buildStatus, topConnections, totalsOf, type ConnectionStatus } from '../../src/http/status.js';
import { IngestStats } from '../../src/metrics/ingest-stats.js';

function conn(id: number, bytes: number): ConnectionStatus {
  return { id, remoteAddress: '127.0.0.1', remotePort: 40000 + id, ageSeconds: 1, packets: 1, bytes, ringFill: 0, paused: false };
}

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
    stats.backpressurePauses = 5;
    stats.handlerErrors.set('a', 2).set('b', 1);
    expect(totalsOf(stats)).toEqual({
      packets: 3,
      bytes: 0,
      frameErrors: 3,
      connectionsTotal: 4,
      connectionsActive: 1,
      backpressurePauses: 5,
      handlerErrors: 3,
    });
  });
});

describe('buildStatus', () => {
  it('shows per-handler errors, health and status(), lag, ring bytes; commit and acks stay null', () => {
    const stats = new IngestStats(['capture', 'fwd']);
    stats.handlerErrors.set('fwd', 4);
    stats.ringBytes = 4096;
    stats.lagLastSeconds = 0.02;
    stats.lagMaxSeconds = 0.5;
    const handlers = [
      { name: 'capture', handler: { onPacket() {} } },
      { name: 'fwd', handler: { onPacket() {}, isHealthy: () => false, status: () => ({ target: 'h:1', connected: false, queuedBytes: 7 }) } },
    ];
    const s = buildStatus({ startedAt: 0, ready: true, stats, rates: new RateTracker(), connections: [], handlers }, 2000, 1000);
    expect(s.handlers).toEqual([
      { name: 'capture', errors: 0, healthy: true, state: null },
      { name: 'fwd', errors: 4, healthy: false, state: { target: 'h:1', connected: false, queuedBytes: 7 } },
    ]);
    expect(s.ringBytes).toBe(4096);
    expect(s.lag).toEqual({ lastSeconds: 0.02, maxSeconds: 0.5, windowSeconds: 10 });
    expect(s.uptimeSeconds).toBe(2);
    expect(s.commit).toBeNull();
    expect(s.acks).toBeNull();
  });

  it('shows ACKs sent, ack-mode connections and commit latency percentiles once acknowledgements exist', () => {
    const stats = new IngestStats([]);
    stats.acksSent = 12;
    stats.connectionsAckMode = 2;
    for (let i = 1; i <= 100; i++) stats.commitWindow.record(i / 1000);
    const s = buildStatus({ startedAt: 0, ready: true, stats, rates: new RateTracker(), connections: [], handlers: [] }, 2000, 1000);
    expect(s.acks).toEqual({ sent: 12, connectionsAckMode: 2 });
    expect(s.commit).toEqual({ p50Seconds: 0.05, p99Seconds: 0.099, maxSeconds: 0.1 });
  });
});
