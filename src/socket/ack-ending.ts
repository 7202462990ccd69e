/**
 * How an ack-mode connection ends when the server ends it (docs/protocol.md,
 * Acknowledgements): ACK + FINAL with a reason, then close. Owned by the
 * connection (one per connection in ack mode); it drives the connection's
 * `input` state, which the read path checks:
 *
 *   READING --drain()--> STOPPED (draining: no new reads; delivered frames commit)
 *      |                    '--every delivered frame committed--> endWith('draining')
 *      '--endWith(reason)--> STOPPED: ACK + FINAL written with the count
 *                            committed now (bounded wait, AckWriter.final)
 *                              --> DROPPING: reader closed, FIN sent, input read and
 *                                  dropped (unread bytes at close would send an RST,
 *                                  which can discard the FINAL at the peer),
 *                                  destroyed after LINGER_MS or when the peer closes
 *   reasons: a frame error (any policy: in ack mode every one closes),
 *   handler_error, idle_timeout, draining, server_error (a forced close).
 */
import type net from 'node:net';
import { AckSession, type AckSessionOwner } from '../ack/ack-session.js';
import type { FinalReason } from '../wire/ack.js';
import type { ConnectionContext } from './connection-context.js';
import { lendBuffer } from './onread-accept.js';
import { LANDING } from './onread-hooks.js';

/** How long an ended connection reads and drops input after its FINAL before it is destroyed. */
export const LINGER_MS = 1000;

/** What the connection's read path does with input. */
export const enum Input {
  READING = 0,
  /** Reading stopped (draining, or a FINAL being written). */
  STOPPED = 1,
  /** After the FINAL: read and drop. */
  DROPPING = 2,
}

/**
 * How a connection ends when the server ends it. A plain connection just
 * closes; the first ACK_REQUEST swaps in an AckEnding.
 */
export interface Ending {
  /** A FINAL is being written or was written (a further close is immediate). */
  readonly ended: boolean;
  endWith(reason: FinalReason): void;
  drain(): void;
  /** The socket closed. */
  closed(): void;
}

/** A plain connection: no FINAL, the socket is destroyed; draining waits for the producer. */
export class PlainEnding implements Ending {
  constructor(private readonly socket: net.Socket) {}
  get ended(): boolean {
    return false;
  }
  endWith(): void {
    this.socket.destroy();
  }
  drain(): void {}
  closed(): void {}
}

/** What ending needs of its connection. */
export interface EndingConnection {
  input: Input;
  lent: Buffer;
  readonly socket: net.Socket;
  readonly usesOnread: boolean;
  readonly reader: { close(): void; readonly hasBacklog: boolean };
  readonly isOpen: boolean;
}

/** The server's share of ack mode: scheduler, commit modes, metrics. */
type AckContext = Pick<ConnectionContext, 'ackScheduler' | 'commitModes' | 'observeCommit' | 'stats'>;

/** A connection's ack mode: its session (ACKs, commits) and how it ends. */
export class AckEnding implements Ending, AckSessionOwner {
  readonly session: AckSession;
  private ending = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly conn: EndingConnection,
    private readonly ctx: AckContext,
  ) {
    this.session = new AckSession(conn.socket, ctx.ackScheduler, ctx.commitModes, this);
    ctx.stats.connectionsAckMode++; // the gauge of open ack-mode connections, down at closed()
  }

  /** pkt_ingest_commit_seconds (AckSessionOwner). */
  observeCommit(seconds: number): void {
    this.ctx.observeCommit(seconds);
  }

  /**
   * Stop delivering, write ACK + FINAL `reason` with the count committed
   * now, then linger and close. Safe inside a read: the reader is closed
   * only after the write, never during a decode. A second call does nothing.
   */
  endWith(reason: FinalReason): void {
    if (this.ending || !this.conn.isOpen) return;
    this.ending = true;
    this.conn.input = Input.STOPPED;
    this.conn.socket.pause();
    void this.session.final(reason).then((written) => this.linger(written));
  }

  get ended(): boolean {
    return this.ending;
  }

  /** Shutdown began: stop reading; FINAL draining once every delivered frame is committed. */
  drain(): void {
    if (this.ending || !this.conn.isOpen) return;
    this.conn.input = Input.STOPPED;
    this.conn.socket.pause();
    this.session.onProgress = () => this.endIfCommitted();
    this.endIfCommitted();
  }

  /** The socket closed. */
  closed(): void {
    this.ctx.stats.connectionsAckMode--;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private endIfCommitted(): void {
    if (this.ending || this.conn.reader.hasBacklog || !this.session.settled) return;
    // Not inside the commit, which may run inside a read: the next turn.
    setImmediate(() => this.endWith('draining'));
  }

  private linger(written: boolean): void {
    const conn = this.conn;
    if (!conn.isOpen) return;
    conn.reader.close(); // no more frames; held bytes stay held until their promises settle
    // The socket must not read into a ring region the reader gave back.
    if (!written || (conn.usesOnread && conn.lent !== LANDING && !lendBuffer(conn.socket, LANDING))) {
      return void conn.socket.destroy();
    }
    conn.lent = LANDING;
    conn.input = Input.DROPPING;
    conn.socket.end();
    if (!conn.usesOnread) conn.socket.on('data', noop);
    conn.socket.resume();
    this.timer = setTimeout(() => conn.socket.destroy(), LINGER_MS);
    this.timer.unref();
  }
}

function noop(): void {}
