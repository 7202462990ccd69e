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
 *
 * Ack mode (docs/protocol.md, Acknowledgements; src/ack/ack-session.ts): the
 * first ACK_REQUEST frame makes the dispatch call enterAckMode(). Every close
 * the server starts then goes through endWith(reason):
 *
 *   open --endWith(reason)--> ending: reading stops, ACK + FINAL written (with
 *        |                    the count committed so far; bounded wait)
 *        |                      --> lingering: FIN sent, input read and dropped
 *        |                          (so unread bytes cause no RST that would
 *        |                          lose the FINAL), destroy after LINGER_MS
 *        '--drain()--> draining: reading stops; once every delivered frame is
 *                      committed --> endWith('draining')
 *   reasons: a frame error (any policy: ack mode closes on every one),
 *   handler_error, idle_timeout, draining, server_error (a forced close).
 *
 * LANDING, shared by every connection (safe: each read is handled
 * synchronously, before any other read can happen), takes the first read
 * of a connection that holds no ring yet (idle connections own none) and
 * the first read after a pause: the socket keeps the buffer it was last
 * lent, and lending it a ring region again would cost a native listener
 * per call (useUserBuffer), kept until the socket closes.
 */
import type net from 'node:net';
import type { Logger } from 'pino';
import { AckSession } from '../ack/ack-session.js';
import { FrameReader } from '../frame/frame-reader.js';
import { COMMIT_TRACKER, type CommitTracker } from '../handlers/commit-tracker.js';
import { Dispatch, type DispatchedConnection } from '../handlers/dispatch.js';
import type { FinalReason } from '../wire/ack.js';
import type { ConnectionContext } from './connection-context.js';
import { lendBuffer } from './onread-accept.js';
import { kConnection, LANDING } from './onread-hooks.js';

export { kConnection, LANDING, onreadHooks } from './onread-hooks.js';

/** How long an ended ack-mode connection reads and drops input after its FINAL before it is destroyed. */
export const LINGER_MS = 1000;

/** A read after this much quiet marks a trickling producer: its ring goes back after the read. */
const SHED_AFTER_MS = 1000;

interface SocketWithConnection extends net.Socket {
  [kConnection]?: Connection;
}

function onData(this: SocketWithConnection, chunk: Buffer): void {
  this[kConnection]?.onChunk(chunk);
}
function onClose(this: SocketWithConnection): void {
  this[kConnection]?.closed();
}
function onError(this: SocketWithConnection, err: Error): void {
  this[kConnection]?.socketError(err);
}

export class Connection implements DispatchedConnection {
  readonly id: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
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
  readonly socket: net.Socket;
  /** Set in ack mode (handlers' context.commit finds it here); declared so every connection has one shape. */
  [COMMIT_TRACKER]: CommitTracker | undefined = undefined;

  private readonly ctx: ConnectionContext;
  private isClosed = false;
  private childLog: Logger | null = null;
  /** This connection's error policy: ack mode turns every frame error into a close. */
  private readonly policy: { onFrameError: 'close' | 'resync'; onChecksumError: 'drop' | 'close' };
  private readonly usesOnread: boolean;
  private ack: AckSession | null = null;
  /** endWith() ran: no more input is delivered. */
  private ending = false;
  /** After the FINAL: input is read and dropped until the peer closes or LINGER_MS. */
  private lingering = false;
  /** Draining in ack mode: reading stopped, waiting for the last commit. */
  private drainingAcks = false;
  private lingerTimer: NodeJS.Timeout | null = null;

  constructor(ctx: ConnectionContext, socket: net.Socket, id: number, usesOnread: boolean) {
    this.ctx = ctx;
    this.socket = socket;
    this.usesOnread = usesOnread;
    this.policy = { onFrameError: ctx.policy.onFrameError, onChecksumError: ctx.policy.onChecksumError };
    this.id = id;
    this.remoteAddress = socket.remoteAddress ?? '';
    this.remotePort = socket.remotePort ?? 0;
    this.openedAt = Date.now();
    this.lastActive = ctx.clock.now;
    this.dispatch = new Dispatch(ctx, this);
    this.reader = new FrameReader(ctx.pool, ctx.limits, this.policy, ctx.stats, this.dispatch);
    this.dispatch.target = this.reader;
    this.reader.onRoom = () => this.onRoom();
    this.reader.onFinished = () => this.finished();
    (socket as SocketWithConnection)[kConnection] = this;
    if (!usesOnread) socket.on('data', onData);
    socket.on('close', onClose);
    socket.on('error', onError);
    this.dispatch.open();
  }

  get log(): Logger {
    return (this.childLog ??= this.ctx.log.child({ conn: this.id, remote: `${this.remoteAddress}:${this.remotePort}` }));
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
    if (this.ending) return this.dropInput();
    const now = this.ctx.clock.now;
    const quietBefore = now - this.lastActive;
    this.lastActive = now;
    const reader = this.reader;
    if (this.lent === LANDING) reader.offer(LANDING, 0, nread, true);
    else reader.committed(nread);
    if (reader.failed !== null) return this.fail();
    if (this.ending || this.drainingAcks) return this.dropInput();
    // A producer that trickles (reads far apart) holds no ring between reads:
    // give it back now, while the next buffer can still be chosen for free.
    if (quietBefore >= SHED_AFTER_MS && reader.idle) {
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
    return !(this.ctx.readBudget.spend(nread) && this.yieldTurn());
  }

  /** 'data' event fallback: the chunk is ours, no copy needed to keep it. */
  onChunk(chunk: Buffer): void {
    if (this.ending) return;
    this.lastActive = this.ctx.clock.now;
    if (!this.reader.offer(chunk)) {
      if (this.reader.failed !== null) return void this.fail();
      this.ctx.stats.backpressurePauses++;
      this.socket.pause();
    } else if (this.ctx.readBudget.spend(chunk.length) && this.yieldTurn()) {
      this.socket.pause();
    }
  }

  /** Over this turn's read budget: stop reading; `lent` stays valid until the resume. */
  private yieldTurn(): boolean {
    this.yielded = true;
    this.ctx.readBudget.yieldTurn(this);
    return true;
  }

  resumeAfterYield(): void {
    if (!this.yielded) return;
    this.yielded = false;
    if (this.isClosed || this.paused || this.ending || this.drainingAcks) return;
    this.socket.resume();
  }

  /**
   * The reader has room again after refusing input. The socket still holds
   * LANDING: the first read after a pause is copied from there.
   */
  private onRoom(): void {
    if (this.isClosed || this.ending || this.drainingAcks) return;
    this.lastActive = this.ctx.clock.now;
    this.socket.resume();
  }

  /** Framing lost under the `close` policy (every policy in ack mode). */
  private fail(): false {
    this.lent = LANDING;
    if (this.ack !== null) this.endWith(this.reader.failed as FinalReason);
    else this.socket.destroy();
    return false;
  }

  /** Ending or draining: the socket keeps LANDING; input is dropped (lingering) or reading stops. */
  private dropInput(): boolean {
    this.lent = LANDING;
    return this.lingering;
  }

  /** Called by the dispatch at the first ACK_REQUEST frame. */
  enterAckMode(): AckSession {
    const ctx = this.ctx;
    const ack = new AckSession(this.socket, ctx.ackScheduler, ctx.commitModes, this);
    this.ack = ack;
    this[COMMIT_TRACKER] = ack.tracker;
    // A dropped or skipped frame would break the count: every frame error closes.
    this.policy.onFrameError = 'close';
    this.policy.onChecksumError = 'close';
    ctx.stats.connectionsAckMode++;
    return ack;
  }

  observeCommit(seconds: number): void {
    this.ctx.observeCommit(seconds);
  }

  /**
   * Ack mode: stop delivering, write ACK + FINAL `reason` with the count
   * committed now, then linger and close. Plain connections just close.
   * Safe to call from inside a read (the reader is closed only later).
   */
  endWith(reason: FinalReason): void {
    const ack = this.ack;
    if (ack === null) return void this.socket.destroy();
    if (this.ending || this.isClosed) return;
    this.ending = true;
    this.socket.pause();
    void ack.final(reason).then((written) => this.linger(written));
  }

  private linger(written: boolean): void {
    if (this.isClosed) return;
    this.reader.close(); // no more frames; held bytes stay held until their promises settle
    // The socket must not read into a ring region the reader gave back.
    if (!written || (this.usesOnread && this.lent !== LANDING && !lendBuffer(this.socket, LANDING))) {
      return void this.socket.destroy();
    }
    this.lent = LANDING;
    this.lingering = true;
    this.socket.end();
    if (!this.usesOnread) this.socket.on('data', noop);
    this.socket.resume();
    this.lingerTimer = setTimeout(() => this.socket.destroy(), LINGER_MS);
    this.lingerTimer.unref();
  }

  /** Shutdown began: an ack-mode connection stops reading and ends once its delivered frames are committed. */
  drain(): void {
    const ack = this.ack;
    if (ack === null || this.isClosed || this.ending) return;
    this.drainingAcks = true;
    this.socket.pause();
    ack.onProgress = () => this.endIfCommitted();
    this.endIfCommitted();
  }

  private endIfCommitted(): void {
    const ack = this.ack as AckSession;
    if (this.ending || this.reader.hasBacklog || !ack.settled) return;
    // Not from inside the commit (which may run inside a read): the next turn.
    setImmediate(() => this.endWith('draining'));
  }

  socketError(err: Error): void {
    const code = (err as NodeJS.ErrnoException).code;
    // Resets are routine for producers; anything else is worth a (rate-limited) line.
    if (code !== 'ECONNRESET' && code !== 'EPIPE') {
      this.ctx.rateLog.warn(this.log, `socket:${code ?? 'error'}`, { err }, 'socket error');
    }
  }

  /** Idle timeout, drain deadline or shutdown: in ack mode FINAL `reason` first (a second call closes at once). */
  destroy(reason: FinalReason = 'server_error'): void {
    if (this.ack !== null && !this.ending) this.endWith(reason);
    else this.socket.destroy();
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
    if (this.lingerTimer !== null) clearTimeout(this.lingerTimer);
    if (this.ack !== null) this.ctx.stats.connectionsAckMode--;
    this.dispatch.close();
    this.ctx.connectionClosed(this);
  }

  /**
   * Called by the sweeper for a connection quiet since a burst: nothing in
   * flight, so its ring goes back. (Costs one native listener until the
   * socket closes, so it is done once per burst, after a long quiet.)
   */
  shed(): void {
    if (this.isClosed || this.ending || this.paused || this.lent === LANDING || !this.reader.idle) return;
    if (!lendBuffer(this.socket, LANDING)) return;
    this.lent = LANDING;
    this.reader.releaseRing();
  }
}

function noop(): void {}
