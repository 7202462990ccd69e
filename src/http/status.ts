/**
 * The live `/status` view (every field is documented in OPERATIONS.md):
 * totals, windowed rates and a per-second history, frame errors by reason,
 * backpressure, ring bytes, lag, per-handler state and the busiest
 * connections. Computed on request from what the server hands in; the hot
 * path only bumps IngestStats.
 */
import type { PacketHandler } from '../handlers/types.js';
import type { IngestStats, RejectReason } from '../metrics/ingest-stats.js';
import type { FrameErrorReason } from '../wire/reasons.js';
import type { RateHistory, RateTracker, WindowRates } from './rate-tracker.js';
import { totalsOf, type StatusTotals } from './status-totals.js';

export { RateTracker, type RateHistory, type WindowRates } from './rate-tracker.js';
export { frameErrorTotal, totalsOf, type StatusTotals } from './status-totals.js';

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

export interface HandlerStatus {
  name: string;
  /** pkt_ingest_handler_errors_total for this handler. */
  errors: number;
  /** isHealthy(), or true for handlers without one. */
  healthy: boolean;
  /** The handler's own status() (forward: target, connected, queued), or null. */
  state: Record<string, unknown> | null;
}

export interface StatusSnapshot {
  uptimeSeconds: number;
  ready: boolean;
  totals: StatusTotals;
  rates: WindowRates;
  history: RateHistory;
  frameErrors: Record<FrameErrorReason, number>;
  connectionsRejected: Record<RejectReason, number>;
  /** Bytes held in connection rings and oversize frame buffers now. */
  ringBytes: number;
  /** Receive time minus packet timestamp (sampled per read); null until observed. */
  lag: { lastSeconds: number | null; maxSeconds: number | null; windowSeconds: number };
  /** Commit latency (ack mode) over the last sampled commits; null until one was observed. */
  commit: { p50Seconds: number; p99Seconds: number; maxSeconds: number } | null;
  /** ACK figures; null until acknowledgements exist. */
  acks: { sent: number; connectionsAckMode: number } | null;
  handlers: HandlerStatus[];
  connections: ConnectionStatus[];
  connectionsShown: number;
  /** True when more connections are open than `connections` lists. */
  connectionsTruncated: boolean;
}

/** What the server hands to buildStatus. */
export interface StatusSource {
  startedAt: number;
  ready: boolean;
  stats: IngestStats;
  rates: RateTracker;
  connections: Iterable<{
    id: number | string;
    remoteAddress: string;
    remotePort: number;
    openedAt: number;
    packets: number;
    bytes: number;
    paused: boolean;
    reader: { fill: number };
  }>;
  handlers: ReadonlyArray<{ name: string; handler: PacketHandler }>;
}

/** The `cap` connections with the most bytes, busiest first; `list` is not modified. */
export function topConnections(list: readonly ConnectionStatus[], cap = 100): ConnectionStatus[] {
  return [...list].sort((a, b) => b.bytes - a.bytes).slice(0, Math.max(0, cap));
}

export function buildStatus(src: StatusSource, now = Date.now(), monotonic = performance.now()): StatusSnapshot {
  const { stats, rates } = src;
  rates.catchUp(monotonic, stats);
  const list: ConnectionStatus[] = [];
  for (const c of src.connections) {
    list.push({
      id: c.id,
      remoteAddress: c.remoteAddress,
      remotePort: c.remotePort,
      ageSeconds: (now - c.openedAt) / 1000,
      packets: c.packets,
      bytes: c.bytes,
      ringFill: c.reader.fill,
      paused: c.paused,
    });
  }
  const shown = topConnections(list);
  return {
    uptimeSeconds: (now - src.startedAt) / 1000,
    ready: src.ready,
    totals: totalsOf(stats),
    rates: rates.rates(monotonic, stats),
    history: rates.history(),
    frameErrors: { ...stats.frameErrors },
    connectionsRejected: { ...stats.connectionsRejected },
    ringBytes: stats.ringBytes,
    lag: {
      lastSeconds: stats.lagLastSeconds >= 0 ? stats.lagLastSeconds : null,
      maxSeconds: rates.lagMax(monotonic, stats.lagMaxSeconds),
      windowSeconds: rates.windowSeconds,
    },
    commit: stats.commitWindow.summary(),
    acks: stats.acksSent > 0 || stats.connectionsAckMode > 0 ? { sent: stats.acksSent, connectionsAckMode: stats.connectionsAckMode } : null,
    handlers: src.handlers.map(({ name, handler }) => ({
      name,
      errors: stats.handlerErrors.get(name) ?? 0,
      healthy: handler.isHealthy?.() ?? true,
      state: handler.status?.() ?? null,
    })),
    connections: shown,
    connectionsShown: shown.length,
    connectionsTruncated: list.length > shown.length,
  };
}
