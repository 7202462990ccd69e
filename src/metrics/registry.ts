/**
 * The Prometheus side of IngestStats. Every counter and gauge reads the plain
 * `stats` numbers in its `collect()` callback, so a scrape costs the registry
 * and the ingest loop never calls prom-client per packet. Each server gets its
 * own Registry (never the global one) so several can run in one process.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { FRAME_ERROR_REASONS } from '../wire/reasons.js';
import { REJECT_REASONS, type IngestStats } from './ingest-stats.js';

export interface IngestMetrics {
  readonly registry: Registry;
  /** One observation per read batch, in seconds; negative or non-finite values are ignored. */
  observeLag(seconds: number): void;
  /**
   * Ack mode: receipt-to-commit time of a sampled read, in seconds (up to
   * 16 sampled reads per connection between two commits, never per frame).
   */
  observeCommit(seconds: number): void;
  /** The Prometheus text exposition of the whole registry. */
  metricsText(): Promise<string>;
  /** `text/plain; version=0.0.4; charset=utf-8` */
  readonly contentType: string;
}

/** 100 µs .. 60 s, roughly 1-2.5-5 per decade. */
export const LAG_BUCKETS_SECONDS: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];

/**
 * prom-client's default set has three gauges named `*_total`, which promtool
 * rejects ("non-counter metrics should not have _total suffix"). Their
 * by-type siblings (`nodejs_active_handles` etc.) already carry the same
 * information: sum() them.
 */
const MISNAMED_DEFAULT_METRICS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

export function createMetrics(stats: IngestStats, opts: { handlerNames: readonly string[] }): IngestMetrics {
  const registry = new Registry();
  const registers = [registry];

  // Counters mirror a total: reset then add the current value, so the output
  // is exactly `stats` whatever happened between scrapes (collect is sync).
  const mirror = (name: string, help: string, read: () => number): void => {
    new Counter({
      name,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  };
  const gauge = (name: string, help: string, read: () => number): void => {
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(read());
      },
    });
  };

  mirror('pkt_ingest_packets_total', 'Packets delivered to handlers (passed validation).', () => stats.packets);
  mirror('pkt_ingest_bytes_total', 'Wire bytes (header and payload) of delivered packets.', () => stats.bytes);

  new Counter({
    name: 'pkt_ingest_frame_errors_total',
    help: 'Invalid frames, by the docs/protocol.md reason that rejected them.',
    labelNames: ['reason'],
    registers,
    collect() {
      this.reset();
      for (const reason of FRAME_ERROR_REASONS) this.inc({ reason }, stats.frameErrors[reason]);
    },
  });

  gauge('pkt_ingest_connections_active', 'TCP connections currently open.', () => stats.connectionsActive);
  mirror('pkt_ingest_connections_total', 'TCP connections accepted.', () => stats.connectionsTotal);

  new Counter({
    name: 'pkt_ingest_connections_rejected_total',
    help: 'TCP connections closed at once on accept, by reason.',
    labelNames: ['reason'],
    registers,
    collect() {
      this.reset();
      for (const reason of REJECT_REASONS) this.inc({ reason }, stats.connectionsRejected[reason]);
    },
  });

  // Not in the contract: accepts that failed for another reason than descriptors (logged, rate-limited).
  mirror('pkt_ingest_accept_errors_total', 'TCP accepts that failed (descriptor exhaustion counts as rejected reason fd_limit).', () => stats.acceptErrors);

  mirror(
    'pkt_ingest_backpressure_pauses_total',
    'Times a socket was paused because handlers lagged behind.',
    () => stats.backpressurePauses,
  );

  // Configured names first so each series exists at 0 even if stats lacks it.
  const handlerNames = [...new Set(opts.handlerNames)];
  new Counter({
    name: 'pkt_ingest_handler_errors_total',
    help: 'Errors thrown or rejected by a handler, by handler name.',
    labelNames: ['handler'],
    registers,
    collect() {
      this.reset();
      for (const handler of handlerNames) this.inc({ handler }, stats.handlerErrors.get(handler) ?? 0);
      for (const [handler, n] of stats.handlerErrors) {
        if (!handlerNames.includes(handler)) this.inc({ handler }, n);
      }
    },
  });

  gauge('pkt_ingest_ring_bytes', 'Bytes currently held in connection rings and oversize frame buffers.', () => stats.ringBytes);

  // Not in the contract; cheap, and they show how often frames straddle the ring end.
  mirror('pkt_ingest_ring_moves_total', 'Partial frames moved to keep a frame contiguous in its ring.', () => stats.ringMoves);
  mirror(
    'pkt_ingest_ring_moved_bytes_total',
    'Bytes copied to keep a partial frame contiguous in its ring.',
    () => stats.ringMovedBytes,
  );

  // Sampled: the server observes one packet per read batch (not every packet),
  // which keeps the hot path at one observe() per read.
  const lag = new Histogram({
    name: 'pkt_ingest_lag_seconds',
    help: 'Receive time minus the packet timestamp, one sampled packet per read; packets stamped 0 or in the future are not observed.',
    buckets: [...LAG_BUCKETS_SECONDS],
    registers,
  });

  mirror('pkt_ingest_acks_total', 'ACK frames sent to producers in ack mode (ACK + FINAL included).', () => stats.acksSent);
  gauge('pkt_ingest_connections_ack_mode', 'Open connections in ack mode (a producer set ACK_REQUEST).', () => stats.connectionsAckMode);
  const commit = new Histogram({
    name: 'pkt_ingest_commit_seconds',
    help: 'Time from receipt to commit by every handler, for connections in ack mode; sampled reads (up to 16 between two commits of a connection).',
    buckets: [...LAG_BUCKETS_SECONDS],
    registers,
  });

  collectDefaultMetrics({ register: registry });
  for (const name of MISNAMED_DEFAULT_METRICS) registry.removeSingleMetric(name);

  return {
    registry,
    observeLag(seconds: number): void {
      if (!(seconds >= 0 && Number.isFinite(seconds))) return;
      lag.observe(seconds);
      stats.lagLastSeconds = seconds; // for /status, which cannot read the histogram synchronously
      if (seconds > stats.lagMaxSeconds) stats.lagMaxSeconds = seconds;
    },
    observeCommit(seconds: number): void {
      if (!(seconds >= 0 && Number.isFinite(seconds))) return;
      commit.observe(seconds);
      stats.commitWindow.record(seconds); // for /status, which cannot read the histogram synchronously
    },
    metricsText: () => registry.metrics(),
    contentType: registry.contentType,
  };
}
