/**
 * The one place that counts a handler error (pkt_ingest_handler_errors_total):
 * a throw or rejection seen by dispatch, and errors handlers report
 * themselves (HandlerContext.reportError, IngestServer.reportHandlerError).
 * Logged rate-limited per handler, so a failing sink cannot flood the log.
 */
import type { Logger } from 'pino';
import type { RateLimitedLog } from '../log/rate-limited-log.js';
import type { IngestStats } from '../metrics/ingest-stats.js';

export class HandlerErrors {
  constructor(
    private readonly stats: IngestStats,
    readonly rateLog: RateLimitedLog,
  ) {}

  /** Counts one error of handler `name`; `log` carries the connection's fields, if any. */
  count(name: string, error: unknown, log: Logger, message = 'handler failed'): void {
    const counts = this.stats.handlerErrors;
    counts.set(name, (counts.get(name) ?? 0) + 1);
    this.rateLog.warn(log, `handler:${name}`, { handler: name, err: error }, message);
  }
}
