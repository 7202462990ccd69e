/**
 * The hot path's counters: plain numbers bumped per read (never per packet
 * through a label lookup). prom-client reads them at scrape time, so a
 * scrape costs the registry, not the ingest loop.
 */
import { FRAME_ERROR_REASONS, type FrameErrorReason } from '../wire/reasons.js';
import { CommitWindow } from './commit-window.js';

export type RejectReason = 'max_connections' | 'draining' | 'per_address_limit' | 'not_allowed' | 'tls_handshake' | 'proxy_protocol' | 'fd_limit';
export const REJECT_REASONS: readonly RejectReason[] = [
  'max_connections', 'draining', 'per_address_limit', 'not_allowed', 'tls_handshake', 'proxy_protocol', 'fd_limit',
];

export class IngestStats {
  packets = 0;
  bytes = 0;
  /** Indexed like FRAME_ERROR_REASONS. */
  readonly frameErrors: Record<FrameErrorReason, number>;
  connectionsActive = 0;
  connectionsTotal = 0;
  readonly connectionsRejected: Record<RejectReason, number> = {
    max_connections: 0,
    draining: 0,
    per_address_limit: 0,
    not_allowed: 0,
    tls_handshake: 0,
    proxy_protocol: 0,
    fd_limit: 0,
  };
  /** Accepts that failed for another reason than descriptors (those count as fd_limit rejections). */
  acceptErrors = 0;
  backpressurePauses = 0;
  /** Keyed by handler name; every configured handler starts at 0. */
  readonly handlerErrors = new Map<string, number>();
  /** Bytes currently held in connection rings (and oversize frame buffers). */
  ringBytes = 0;
  /** Frames whose partial prefix was moved to keep them contiguous, and the bytes moved. */
  ringMoves = 0;
  ringMovedBytes = 0;
  /** Lag of the last sampled packet, and the largest since /status's tracker last sampled (-1: none). */
  lagLastSeconds = -1;
  lagMaxSeconds = -1;
  /** ACK frames written to producers (FINAL included); bumped by the AckScheduler's writers. */
  acksSent = 0;
  /** Open connections in ack mode (docs/protocol.md Acknowledgements). */
  connectionsAckMode = 0;
  /** The last sampled commit latencies (what pkt_ingest_commit_seconds observes), for /status. */
  readonly commitWindow = new CommitWindow();

  constructor(handlerNames: readonly string[] = []) {
    const errors = {} as Record<FrameErrorReason, number>;
    for (const r of FRAME_ERROR_REASONS) errors[r] = 0;
    this.frameErrors = errors;
    for (const name of handlerNames) this.handlerErrors.set(name, 0);
  }
}
