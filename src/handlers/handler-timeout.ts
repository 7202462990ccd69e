/**
 * limits.handlerTimeoutMs: no handler may hold a connection, its descriptor
 * and its ring forever. A packet a handler has held (its onPacket or
 * onBatchEnd promise unsettled) longer than the limit counts one handler
 * error against each handler still holding it, and ends the connection.
 *
 * No timer per packet: the hold ledger stamps each held batch (one clock
 * read per read) when its first hold is placed, the oldest unsettled hold
 * is the ledger's front mark, and TcpIngest's sweep calls check() once per
 * connection per tick. So a hold is judged at most one tick (a quarter of
 * the limit, at most 1 s) after the limit, never before it.
 *
 *   held batch --sweep: now - since > limit--> count an error per holding handler
 *     --> reader.end() (a partial frame counts `truncated`), reader.close()
 *         (bytes not yet through the ring are dropped: that producer resends)
 *     --> socket destroyed: the descriptor goes back even when the paused
 *         socket never read its producer's FIN (no CLOSE-WAIT left behind)
 *     --> the connection finishes as any other (closeConnection, gauges)
 *   a connection that finished (its producer closed) while holds remain:
 *     --> HOLDING: its ring stays reserved, counted in pkt_ingest_ring_bytes
 *         and against tcp.maxConnections, because the handler may still read
 *         the bytes behind its views; past the limit its holders are counted
 *         once, as above
 *   the late promise settles --> the reader releases its marks and gives the
 *     ring back to the pool (its own ring: never one lent to someone else)
 *     --> the next sweep forgets it
 *
 * So rings held by a handler that never settles cannot pile up: at most
 * maxConnections connections, open or gone, own a ring.
 *
 * State: the map of holding connections, owned here; the sweep and
 * TcpIngest.connectionClosed are its only writers.
 */
import type { Logger } from 'pino';
import { HandlerTimeoutError } from '../errors.js';
import type { HandlerErrors } from './handler-errors.js';

/** What the timeout needs of a connection (src/socket/connection.ts). */
export interface TimedConnection {
  readonly reader: {
    /** Date.now() of the oldest unsettled hold, or -1. */
    readonly oldestHoldSince: number;
    oldestHolders(): number[];
    end(): void;
    close(): void;
  };
  readonly log: Logger;
  /** In ack mode ACK + FINAL `reason` first (the connection's close protocol). */
  destroy(reason: 'handler_error'): void;
}

export class HandlerTimeouts {
  /**
   * Finished connections whose holds have not settled (true once their
   * timeout was counted), and open ones the timeout is ending.
   */
  private readonly holders = new Map<TimedConnection, boolean>();

  constructor(
    private readonly timeoutMs: number,
    private readonly handlerNames: readonly string[],
    private readonly errors: HandlerErrors,
  ) {}

  /** Connections gone (or going) whose rings wait for their holds to settle: they count against maxConnections. */
  get holding(): number {
    return this.holders.size;
  }

  /** Of those, the ones whose holds are past the limit (readiness: slots lost to a stuck handler). */
  get timedOut(): number {
    let n = 0;
    for (const counted of this.holders.values()) if (counted) n++;
    return n;
  }

  /** A connection finished: if handlers still hold its bytes, its ring is watched until they settle. */
  finished(conn: TimedConnection): void {
    if (conn.reader.oldestHoldSince >= 0 && !this.holders.has(conn)) this.holders.set(conn, false);
  }

  /** Sweep (`now`: a fresh Date.now()), per open connection: ends it if its oldest hold is past the limit. True if it did. */
  check(conn: TimedConnection, now: number): boolean {
    if (!this.pastLimit(conn, now) || this.holders.has(conn)) return false;
    this.holders.set(conn, true);
    this.blame(conn, now);
    conn.reader.end();
    conn.reader.close();
    conn.destroy('handler_error'); // ack mode: ACK + FINAL handler_error first (socket/ack-ending.ts)
    return true;
  }

  /** Sweep: counts finished connections' holds past the limit (once), forgets those that settled. */
  sweepFinished(now: number): void {
    for (const [conn, counted] of this.holders) {
      if (conn.reader.oldestHoldSince < 0) this.holders.delete(conn);
      else if (!counted && this.pastLimit(conn, now)) {
        this.holders.set(conn, true);
        this.blame(conn, now);
      }
    }
  }

  private pastLimit(conn: TimedConnection, now: number): boolean {
    const since = conn.reader.oldestHoldSince;
    return since >= 0 && now - since > this.timeoutMs;
  }

  /** One handler error for each handler still holding the oldest held bytes. */
  private blame(conn: TimedConnection, now: number): void {
    const heldMs = now - conn.reader.oldestHoldSince;
    for (const index of conn.reader.oldestHolders()) {
      const name = this.handlerNames[index];
      const error = new HandlerTimeoutError(
        `handler "${name}" held a packet for ${heldMs} ms, past limits.handlerTimeoutMs (${this.timeoutMs}): ` +
          'its connection is closed and its ring stays reserved until the promise settles; ' +
          'fix: make the handler settle (or reject) sooner, or raise limits.handlerTimeoutMs (0 disables)',
      );
      this.errors.count(name, error, conn.log, 'handler timed out: connection closed');
    }
  }
}
