/**
 * Handler fan-out for one connection: every frame goes to every handler, in
 * handler order, synchronously, as the reader decodes it. This is the one
 * place that knows how handlers are called:
 *   - promise detection: a thenable result holds the frame's batch (the
 *     reader keeps the bytes until it settles) and detaches the view, so
 *     later frames get a fresh one;
 *   - error counting: a throw or rejection counts against the handler
 *     (HandlerErrors) and never reaches the socket;
 *   - per read: stats, onBatchEnd of the handlers that have one (a promise
 *     holds the whole batch), one lag sample (the newest packet).
 * Acknowledgements (docs/protocol.md): the first frame with ACK_REQUEST
 * puts the connection in ack mode (conn.enterAckMode() returns its
 * AckSession); from then on promises of 'settle' handlers and each batch
 * end feed the session's commit tracking. Plain connections pay one flag
 * test per frame. A per-packet handler timeout (limits.handlerTimeoutMs)
 * belongs here too.
 *
 *   reader --onFrame(view)--> handlers[0..n).onPacket(view, conn) --promise?--> reader.hold
 *   reader --onBatchEnd()---> stats, handlers with onBatchEnd, lag sample
 *
 * State: the connection's packet and byte counts (on ConnectionInfo, read
 * by handlers). At end of stream close() calls closeConnection on each.
 */
import type { Logger } from 'pino';
import type { AckSession } from '../ack/ack-session.js';
import type { FrameConsumer } from '../frame/consumer.js';
import type { PacketView } from '../frame/packet-view.js';
import type { IngestStats } from '../metrics/ingest-stats.js';
import { Flags } from '../wire/constants.js';
import type { FrameErrorReason } from '../wire/reasons.js';
import type { HandlerErrors } from './handler-errors.js';
import type { ConnectionInfo, PacketHandler } from './types.js';

/** What every connection's dispatch shares: set up once per server. */
export interface DispatchContext {
  readonly handlers: readonly PacketHandler[];
  readonly handlerNames: readonly string[];
  /** Indices of handlers that implement onBatchEnd. */
  readonly batchEnders: readonly number[];
  readonly stats: IngestStats;
  readonly handlerErrors: HandlerErrors;
  /** Wall clock in microseconds, read once per batch (lag). */
  wallMicros(): number;
  observeLag(seconds: number): void;
  /** Counts and logs a frame error (not a handler's business, but the reader reports it here). */
  frameError(log: Logger, reason: FrameErrorReason, offset: number): void;
}

/** The connection as dispatch sees it: counts it keeps, a log for its errors. */
export interface DispatchedConnection extends ConnectionInfo {
  packets: number;
  bytes: number;
  readonly log: Logger;
  /** The first ACK_REQUEST frame arrived: set up acknowledgements (once). */
  enterAckMode(): AckSession;
}

/** Where held promises go: the connection's FrameReader. */
export interface HoldTarget {
  hold(promise: PromiseLike<unknown>, handlerIndex: number): void;
  readonly decoder: { detachView(): void };
}

type MaybePromise = void | PromiseLike<void>;

export class Dispatch implements FrameConsumer {
  /** Set by the owner right after the reader exists (the reader needs this consumer first). */
  target: HoldTarget | null = null;
  private readonly ctx: DispatchContext;
  private readonly conn: DispatchedConnection;
  /** Cached off ctx: read once per frame. */
  private readonly handlers: readonly PacketHandler[];
  private reportedPackets = 0;
  private reportedBytes = 0;
  private lastView: PacketView | null = null;
  /** Set once the connection is in ack mode. */
  private ack: AckSession | null = null;

  constructor(ctx: DispatchContext, conn: DispatchedConnection) {
    this.ctx = ctx;
    this.conn = conn;
    this.handlers = ctx.handlers;
  }

  /** The connection opened: handlers' open(). */
  open(): void {
    const handlers = this.ctx.handlers;
    for (let i = 0; i < handlers.length; i++) {
      try {
        handlers[i].open?.(this.conn);
      } catch (err) {
        this.onHoldError(i, err);
      }
    }
  }

  onFrame(view: PacketView): void {
    const conn = this.conn;
    conn.packets++;
    conn.bytes += view.frameLength;
    this.lastView = view;
    if (this.ack === null && (view.flags & Flags.ACK_REQUEST) !== 0) this.ack = conn.enterAckMode();
    const handlers = this.handlers;
    let held = false;
    for (let i = 0; i < handlers.length; i++) {
      let r: MaybePromise;
      try {
        r = handlers[i].onPacket(view, conn);
      } catch (err) {
        this.onHoldError(i, err);
        continue;
      }
      // (handlerTimeoutMs would race this hold here.)
      if (r != null && typeof (r as PromiseLike<void>).then === 'function') {
        (this.target as HoldTarget).hold(r as PromiseLike<void>, i);
        this.ack?.holdPromise(i, r as PromiseLike<void>);
        held = true;
      }
    }
    // A handler kept this view until its promise settles: later frames get a fresh one.
    if (held) (this.target as HoldTarget).decoder.detachView();
  }

  onBatchEnd(): void {
    const conn = this.conn;
    const packets = conn.packets - this.reportedPackets;
    if (packets === 0) return;
    const ctx = this.ctx;
    ctx.stats.packets += packets;
    ctx.stats.bytes += conn.bytes - this.reportedBytes;
    this.reportedPackets = conn.packets;
    this.reportedBytes = conn.bytes;
    const batchEnders = ctx.batchEnders;
    for (let k = 0; k < batchEnders.length; k++) {
      const i = batchEnders[k];
      let r: MaybePromise;
      try {
        r = (ctx.handlers[i].onBatchEnd as (c: ConnectionInfo) => MaybePromise)(conn);
      } catch (err) {
        this.onHoldError(i, err);
        continue;
      }
      if (r != null && typeof (r as PromiseLike<void>).then === 'function') {
        (this.target as HoldTarget).hold(r as PromiseLike<void>, i);
        this.ack?.holdPromise(i, r as PromiseLike<void>);
      }
    }
    // Ack mode: the batch is accepted; 'settle' handlers commit it now or when its promises resolve.
    if (this.ack !== null) this.ack.endBatch(conn.packets);
    // Lag: one sample per read, the newest packet of it.
    const view = this.lastView;
    if (view !== null) {
      this.lastView = null;
      const ts = view.timestamp;
      if (ts > 0) {
        const lagMicros = ctx.wallMicros() - ts;
        if (lagMicros >= 0) ctx.observeLag(lagMicros / 1e6);
      }
    }
  }

  onFrameError(reason: FrameErrorReason, offset: number): void {
    this.ctx.frameError(this.conn.log, reason, offset);
  }

  /** A handler threw, or its promise rejected. */
  onHoldError(index: number, error: unknown): void {
    this.ctx.handlerErrors.count(this.ctx.handlerNames[index], error, this.conn.log);
    this.ack?.fail(index, error); // the frame is not committed: FINAL handler_error
  }

  /** End of stream (after the reader finished): handlers' closeConnection(). */
  close(): void {
    const handlers = this.ctx.handlers;
    for (let i = 0; i < handlers.length; i++) {
      try {
        handlers[i].closeConnection?.(this.conn);
      } catch (err) {
        this.onHoldError(i, err);
      }
    }
  }
}
