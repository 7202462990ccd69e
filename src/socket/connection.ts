/**
 * One producer connection: glue between a socket and its FrameReader. The
 * reader owns the unread bytes, end of stream and the pause state; handler
 * fan-out is the connection's Dispatch (src/handlers/dispatch.ts).
 *
 *   kernel --onread--> ring region (reader.reserveRead, the fast path)
 *          --onread--> LANDING --reader.offer(borrowed)--> ring (+ backlog)
 *   'data' chunk ----> reader.offer(chunk) ---------------> ring (+ backlog)
 *   reader --frames--> Dispatch --> handlers
 *   reader.onRoom --> socket.resume()    'close' --> reader.finish() --> onFinished
 *                                                    --> dispatch.close(), server bookkeeping
 *   reader.onFailed (close policy) --> ending.endWith(reason): plain: destroy;
 *                                      ack mode: ACK + FINAL, then close
 *
 * Ack mode (docs/protocol.md, Acknowledgements; src/ack/ack-session.ts): the
 * first ACK_REQUEST frame makes the dispatch call enterAckMode(); every
 * close the server starts then writes ACK + FINAL first (ack-ending.ts).
 *
 * LANDING (onread-hooks.ts) takes reads while the connection has no ring
 * region to lend: before its first ring, and the first read after a pause.
 */
import type net from 'node:net';
import type { Logger } from 'pino';
import type { AckSession } from '../ack/ack-session.js';
import { AckEnding, Input, PlainEnding, type Ending } from './ack-ending.js';
import { FrameReader } from '../frame/frame-reader.js';
import { COMMIT_TRACKER, type CommitTracker } from '../handlers/commit-tracker.js';
import { Dispatch, type DispatchedConnection } from '../handlers/dispatch.js';
import type { FinalReason } from '../wire/ack.js';
import type { ConnectionContext, ConnectionPeer } from './connection-context.js';
import { lendBuffer } from './onread-accept.js';
import { connectionLogger, logSocketError } from './connection-log.js';
import { attachSocket, LANDING } from './onread-hooks.js';
import type { TlsIdentity } from './tls-identity.js';

/** A read after this much quiet marks a trickling producer: its ring goes back after the read. */
const TRICKLE_GAP_MS = 1000;

export class Connection implements DispatchedConnection {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly tls: TlsIdentity | null;
  readonly openedAt: number;
  packets = 0;
  bytes = 0;
  /** Coarse clock (the sweeper's) of the last read or resume. */
  lastActive: number;
  /** Stopped reading until the next turn of the event loop (the server's read budget). */
  yielded = false;
  /** The buffer the next read lands in. */
  lent: Buffer = LANDING;
  readonly reader: FrameReader;
  readonly dispatch: Dispatch;
  /** Set in ack mode (handlers' context.commit finds it here); declared so every connection has one shape. */
  [COMMIT_TRACKER]: CommitTracker | undefined = undefined;

  private isClosed = false;
  private childLog: Logger | null = null;
  /** How the server ends this connection: plain, or ACK + FINAL once in ack mode. */
  private ending: Ending;
  /** READING, or (ack mode) STOPPED / DROPPING while the connection ends. */
  input: Input = Input.READING;

  constructor(
    private readonly ctx: ConnectionContext,
    readonly socket: net.Socket,
    readonly id: number,
    /** Plain TCP reads by onread into the ring; TLS sockets take 'data' chunks. */
    readonly usesOnread: boolean,
    peer?: ConnectionPeer,
  ) {
    this.remoteAddress = peer?.address ?? socket.remoteAddress ?? '';
    this.remotePort = peer?.port ?? socket.remotePort ?? 0;
    this.tls = peer?.tls ?? null;
    this.openedAt = Date.now();
    this.ending = new PlainEnding(socket);
    this.lastActive = ctx.clock.now;
    this.dispatch = new Dispatch(ctx, this);
    this.reader = new FrameReader(ctx.pool, ctx.limits, ctx.policy, ctx.stats, this.dispatch);
    this.dispatch.target = this.reader;
    this.reader.onRoom = () => this.onRoom();
    this.reader.onFinished = () => this.finished();
    // Inside a read onRead/onChunk close at once; this covers a failure found
    // outside one (a settled hold pumped the backlog), where no read follows.
    this.reader.onFailed = () => queueMicrotask(() => void (this.isClosed || this.fail()));
    attachSocket(socket, this, usesOnread);
    this.dispatch.open();
  }

  get log(): Logger {
    return (this.childLog ??= connectionLogger(this.ctx.log, this));
  }

  /** Stopped reading because handlers hold the ring (the reader waits for room). */
  get paused(): boolean {
    return this.reader.waiting;
  }

  get isOpen(): boolean {
    return !this.isClosed;
  }

  /** onread: `nread` bytes landed in `lent`. Returns false to stop reading. */
  onRead(nread: number): boolean {
    if (this.input !== Input.READING) return this.dropInput();
    const now = this.ctx.clock.now;
    const quietBefore = now - this.lastActive;
    this.lastActive = now;
    const reader = this.reader;
    if (this.lent === LANDING) reader.offer(LANDING, 0, nread, true);
    else reader.committed(nread);
    if (reader.failed !== null) return this.fail();
    if (this.input !== Input.READING) return this.dropInput();
    // A producer that trickles (reads far apart) holds no ring between reads:
    // give it back now, while the next buffer can still be chosen for free.
    if (quietBefore >= TRICKLE_GAP_MS && reader.idle) {
      reader.releaseRing();
      this.lent = LANDING;
      return true;
    }
    const region = reader.reserveRead();
    if (region === null) {
      this.lent = LANDING;
      this.ctx.stats.backpressurePauses++;
      return false;
    }
    this.lent = region;
    return !this.overBudget(nread);
  }

  /** 'data' event fallback: the chunk is ours, no copy needed to keep it. */
  onChunk(chunk: Buffer): void {
    if (this.input !== Input.READING) return;
    this.lastActive = this.ctx.clock.now;
    if (!this.reader.offer(chunk)) {
      if (this.reader.failed !== null) return void this.fail();
      this.ctx.stats.backpressurePauses++;
      this.socket.pause();
    } else if (this.overBudget(chunk.length)) {
      this.socket.pause();
    }
  }

  /** Over this turn's read budget: stop reading; `lent` stays valid until resumeAfterYield. */
  private overBudget(n: number): boolean {
    if (!this.ctx.readBudget.spend(n, this)) return false;
    this.yielded = true;
    return true;
  }

  resumeAfterYield(): void {
    if (!this.yielded) return;
    this.yielded = false;
    if (this.isClosed || this.paused || this.input !== Input.READING) return;
    this.socket.resume();
  }

  /**
   * The reader has room again after refusing input. The socket still holds
   * LANDING: the first read after a pause is copied from there.
   */
  private onRoom(): void {
    if (this.isClosed || this.input !== Input.READING) return;
    this.lastActive = this.ctx.clock.now;
    this.socket.resume();
  }

  /** Framing lost under the `close` policy (every policy in ack mode). */
  private fail(): false {
    this.lent = LANDING;
    this.ending.endWith(this.reader.failed as FinalReason);
    return false;
  }

  /** Ending or draining: the socket keeps LANDING; input is dropped (after the FINAL) or reading stops. */
  private dropInput(): boolean {
    this.lent = LANDING;
    return this.input === Input.DROPPING;
  }

  /** Called by the dispatch at the first ACK_REQUEST frame. */
  enterAckMode(): AckSession {
    const ending = new AckEnding(this, this.ctx);
    this.ending = ending;
    this[COMMIT_TRACKER] = ending.session.tracker;
    this.reader.closeOnEveryError();
    return ending.session;
  }

  /** Shutdown began: an ack-mode connection stops reading and ends after its last commit. */
  drain(): void {
    this.ending.drain();
  }

  socketError(err: Error): void {
    logSocketError(this.ctx.rateLog, this, err);
  }

  /** Idle timeout, drain deadline or shutdown: in ack mode FINAL `reason` first (a second call closes at once). */
  destroy(reason: FinalReason = 'server_error'): void {
    if (this.ending.ended) this.socket.destroy();
    else this.ending.endWith(reason);
  }

  /**
   * The socket closed, whatever the cause. The reader delivers what it
   * already received (as room allows), ends, and calls finished().
   */
  closed(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.reader.finish();
  }

  private finished(): void {
    this.ending.closed();
    this.dispatch.close();
    this.ctx.connectionClosed(this);
  }

  /**
   * Called by the sweeper for a connection quiet since a burst: nothing in
   * flight, so its ring goes back. (Costs one native listener until the
   * socket closes, so it is done once per burst, after a long quiet.)
   */
  shed(): void {
    if (this.isClosed || this.input !== Input.READING || this.paused || this.lent === LANDING || !this.reader.idle) return;
    if (!lendBuffer(this.socket, LANDING)) return;
    this.lent = LANDING;
    this.reader.releaseRing();
  }
}
