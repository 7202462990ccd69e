/**
 * One producer connection: the socket's bytes go into its FrameReader, and
 * the frames out of it go to every handler, in order.
 *
 * Reads land in one of two places:
 *   - a ring region (the fast path): onread reads straight into it;
 *   - the shared LANDING buffer, copied into the ring right away: for the
 *     first read of a connection that holds no ring yet (idle connections
 *     own none), and for the first read after a pause when the socket's
 *     buffer could not be pointed at a ring region directly.
 * LANDING is shared by every connection: safe because each read is handled
 * synchronously, before any other read can happen.
 *
 * Backpressure: when the reader has no room (handlers still hold the ring),
 * the socket stops reading; the reader's onRoom resumes it.
 */
import type net from 'node:net';
import type { Logger } from 'pino';
import type { ConnectionInfo, PacketHandler } from '../handlers/types.js';
import { FrameReader, type FrameConsumer } from '../frame/frame-reader.js';
import type { PacketView } from '../frame/packet-view.js';
import type { FrameErrorReason } from '../wire/reasons.js';
import type { ConnectionContext } from './connection-context.js';
import { lendBuffer } from './onread-accept.js';

/** Where reads land while a connection has no ring region to offer. */
export const LANDING = Buffer.allocUnsafeSlow(64 * 1024);

export const kConnection = Symbol('pkt-ingest.connection');

/** A read after this much quiet marks a trickling producer: its ring goes back after the read. */
const SHED_AFTER_MS = 1000;

/**
 * Fairness: libuv reads a busy socket up to 32 times per wakeup, and every
 * read is decoded and handled at once. Without a cap, a few flat-out
 * producers keep the event loop in its poll phase for hundreds of ms and
 * HTTP probes time out. So all connections share a budget per turn of the
 * loop; a connection over it stops reading and resumes on setImmediate.
 */
const READ_BUDGET_PER_TURN = 1024 * 1024;
let turnBytes = 0;
let turnScheduled = false;
let yielded: Connection[] = [];

function endTurn(): void {
  turnBytes = 0;
  turnScheduled = false;
  const resume = yielded;
  yielded = [];
  for (const conn of resume) conn.resumeAfterYield();
}

/** Counts a read against this turn's budget; true if the budget is spent. */
function spendReadBudget(n: number): boolean {
  turnBytes += n;
  if (!turnScheduled) {
    turnScheduled = true;
    setImmediate(endTurn);
  }
  return turnBytes > READ_BUDGET_PER_TURN;
}

interface SocketWithConnection extends net.Socket {
  [kConnection]?: Connection;
}

/**
 * onread hooks: module-level functions, the connection found on the socket.
 * Node calls `callback` with `this` = the socket and then, at once and
 * synchronously, `buffer()` with no `this`; so the callback leaves the next
 * buffer in `nextLent` for `buffer()` to hand over.
 */
let nextLent: Buffer = LANDING;
export const onreadHooks = {
  buffer(): Uint8Array {
    const buf = nextLent;
    nextLent = LANDING;
    return buf;
  },
  callback(this: net.Socket, nread: number): boolean {
    const conn = (this as SocketWithConnection)[kConnection];
    if (conn === undefined) return false;
    const more = conn.onRead(nread);
    nextLent = conn.lent;
    return more;
  },
};

function onData(this: SocketWithConnection, chunk: Buffer): void {
  this[kConnection]?.onChunk(chunk);
}
function onClose(this: SocketWithConnection): void {
  this[kConnection]?.closed();
}
function onError(this: SocketWithConnection, err: Error): void {
  this[kConnection]?.socketError(err);
}

export class Connection implements ConnectionInfo, FrameConsumer {
  readonly id: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly openedAt: number;
  packets = 0;
  bytes = 0;
  /** Coarse clock (the sweeper's) of the last read or resume. */
  lastActive: number;
  /** Stopped reading because handlers hold the ring. */
  paused = false;
  /** Stopped reading until the next turn of the event loop (read budget). */
  yielded = false;
  /** The buffer the next read lands in. */
  lent: Buffer = LANDING;
  readonly reader: FrameReader;
  readonly socket: net.Socket;

  private readonly ctx: ConnectionContext;
  private readonly handlers: readonly PacketHandler[];
  private readonly usesOnread: boolean;
  /** Bytes read but not yet taken by the ring (a copy, or a 'data' chunk). */
  private leftover: Buffer | null = null;
  private reportedPackets = 0;
  private reportedBytes = 0;
  private lastView: PacketView | null = null;
  private isClosed = false;
  /** The socket is gone but received frames still wait for room. */
  private finishing = false;
  private childLog: Logger | null = null;

  constructor(ctx: ConnectionContext, socket: net.Socket, id: number, usesOnread: boolean) {
    this.ctx = ctx;
    this.socket = socket;
    this.id = id;
    this.usesOnread = usesOnread;
    this.remoteAddress = socket.remoteAddress ?? '';
    this.remotePort = socket.remotePort ?? 0;
    this.openedAt = Date.now();
    this.lastActive = ctx.clock.now;
    this.handlers = ctx.handlers;
    this.reader = new FrameReader(ctx.pool, ctx.limits, ctx.policy, ctx.stats, this);
    this.reader.onRoom = () => this.onRoom();
    (socket as SocketWithConnection)[kConnection] = this;
    if (!usesOnread) socket.on('data', onData);
    socket.on('close', onClose);
    socket.on('error', onError);
    for (let i = 0; i < this.handlers.length; i++) {
      try {
        this.handlers[i].open?.(this);
      } catch (err) {
        this.onHoldError(i, err);
      }
    }
  }

  get log(): Logger {
    return (this.childLog ??= this.ctx.log.child({ conn: this.id, remote: `${this.remoteAddress}:${this.remotePort}` }));
  }

  /** onread: `nread` bytes landed in `lent`. Returns false to stop reading. */
  onRead(nread: number): boolean {
    const now = this.ctx.clock.now;
    const quietBefore = now - this.lastActive;
    this.lastActive = now;
    if (this.lent === LANDING) {
      const taken = this.reader.write(LANDING, 0, nread);
      // Out of room mid-chunk (handlers hold the ring): keep the rest, copied, as LANDING is shared.
      if (taken < nread) this.leftover = Buffer.from(LANDING.subarray(taken, nread));
    } else {
      this.reader.committed(nread);
    }
    // A producer that trickles (reads far apart) holds no ring between reads:
    // give it back now, while the next buffer can still be chosen for free.
    if (quietBefore >= SHED_AFTER_MS && this.leftover === null && this.reader.failed === null && this.reader.idle) {
      this.reader.releaseRing();
      this.lent = LANDING;
      return true;
    }
    return this.nextRead() && !(spendReadBudget(nread) && this.yieldTurn());
  }

  /** Over this turn's read budget: stop reading; `lent` stays valid until the resume. */
  private yieldTurn(): boolean {
    this.yielded = true;
    yielded.push(this);
    return true;
  }

  resumeAfterYield(): void {
    if (!this.yielded) return;
    this.yielded = false;
    if (this.isClosed || this.paused) return;
    this.socket.resume();
  }

  /** 'data' event fallback: the chunk is ours, no copy needed to keep it. */
  onChunk(chunk: Buffer): void {
    this.lastActive = this.ctx.clock.now;
    const taken = this.reader.write(chunk);
    if (this.reader.failed !== null) return this.fail();
    if (taken < chunk.length) {
      this.leftover = chunk.subarray(taken);
      this.pause();
      this.socket.pause();
    } else if (spendReadBudget(chunk.length) && this.yieldTurn()) {
      this.socket.pause();
    }
  }

  /** Picks where the next read lands; false (pause) when nowhere. */
  private nextRead(): boolean {
    if (this.reader.failed !== null) {
      this.lent = LANDING;
      this.fail();
      return false;
    }
    if (this.leftover === null) {
      const region = this.reader.readBuffer();
      if (region !== null) {
        this.lent = region;
        return true;
      }
    }
    this.lent = LANDING;
    this.pause();
    return false;
  }

  private pause(): void {
    if (!this.paused) {
      this.paused = true;
      this.ctx.stats.backpressurePauses++;
    }
  }

  /** Handlers released ring bytes after we ran out of room. */
  private onRoom(): void {
    if (this.isClosed ? !this.finishing : !this.paused) return;
    const leftover = this.leftover;
    if (leftover !== null) {
      const taken = this.reader.write(leftover);
      this.leftover = taken < leftover.length ? leftover.subarray(taken) : null;
      if (this.reader.failed !== null) return this.isClosed ? this.finish() : this.fail();
      if (this.leftover !== null) return; // the reader calls onRoom again
    }
    if (this.finishing) {
      this.reader.readBuffer(); // replays what waits in the reader, as room allows
      if (!this.hasBacklog() || this.reader.failed !== null) this.finish();
      return;
    }
    // The socket still holds LANDING: the first read after a pause is copied
    // from there (lending it a ring region now would cost a native listener
    // per pause, kept until the socket closes).
    if (this.reader.readBuffer() === null) return;
    this.paused = false;
    this.lastActive = this.ctx.clock.now;
    this.socket.resume();
  }

  // ---- FrameConsumer: called by the reader, synchronously, per frame and per read.

  onFrame(view: PacketView): void {
    this.packets++;
    this.bytes += view.frameLength;
    this.lastView = view;
    const handlers = this.handlers;
    let held = false;
    for (let i = 0; i < handlers.length; i++) {
      let r: void | Promise<void>;
      try {
        r = handlers[i].onPacket(view, this);
      } catch (err) {
        this.onHoldError(i, err);
        continue;
      }
      if (r != null && typeof (r as Promise<void>).then === 'function') {
        this.reader.hold(r, i);
        held = true;
      }
    }
    // A handler kept this view until its promise settles: later frames get a fresh one.
    if (held) this.reader.decoder.detachView();
  }

  onBatchEnd(): void {
    const packets = this.packets - this.reportedPackets;
    if (packets === 0) return;
    const stats = this.ctx.stats;
    stats.packets += packets;
    stats.bytes += this.bytes - this.reportedBytes;
    this.reportedPackets = this.packets;
    this.reportedBytes = this.bytes;
    const batchEnders = this.ctx.batchEnders;
    for (let k = 0; k < batchEnders.length; k++) {
      const i = batchEnders[k];
      let r: void | Promise<void>;
      try {
        r = (this.handlers[i].onBatchEnd as (c: ConnectionInfo) => void | Promise<void>)(this);
      } catch (err) {
        this.onHoldError(i, err);
        continue;
      }
      if (r != null && typeof (r as Promise<void>).then === 'function') this.reader.hold(r, i);
    }
    // Lag: one sample per read, the newest packet of it.
    const view = this.lastView;
    if (view !== null) {
      this.lastView = null;
      const ts = view.timestamp;
      if (ts > 0) {
        const lagMicros = this.ctx.clock.wallMicros() - ts;
        if (lagMicros >= 0) this.ctx.observeLag(lagMicros / 1e6);
      }
    }
  }

  onFrameError(reason: FrameErrorReason, offset: number): void {
    this.ctx.stats.frameErrors[reason]++;
    this.ctx.rateLog.warn(this.log, `frame:${reason}`, { reason, offset }, 'invalid frame');
  }

  onHoldError(index: number, error: unknown): void {
    const name = this.ctx.handlerNames[index];
    const stats = this.ctx.stats;
    stats.handlerErrors.set(name, (stats.handlerErrors.get(name) ?? 0) + 1);
    this.ctx.rateLog.warn(this.log, `handler:${name}`, { handler: name, err: error }, 'handler failed');
  }

  // ---- lifecycle

  /** Framing lost under the `close` policy. */
  private fail(): void {
    this.socket.destroy();
  }

  socketError(err: Error): void {
    const code = (err as NodeJS.ErrnoException).code;
    // Resets are routine for producers; anything else is worth a (rate-limited) line.
    if (code !== 'ECONNRESET' && code !== 'EPIPE') {
      this.ctx.rateLog.warn(this.log, `socket:${code ?? 'error'}`, { err }, 'socket error');
    }
  }

  /** Idle timeout, drain deadline or shutdown. */
  destroy(): void {
    this.socket.destroy();
  }

  /**
   * The socket closed, whatever the cause. Bytes already received but not
   * yet in the ring (waiting for room) still hold whole frames: deliver
   * them first, then account for a partial frame and give the ring back.
   */
  closed(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    if (this.hasBacklog() && this.reader.failed === null) {
      this.finishing = true; // onRoom goes on feeding, then finishes
      return;
    }
    this.finish();
  }

  private hasBacklog(): boolean {
    return this.leftover !== null || this.reader.hasReplay;
  }

  private finish(): void {
    this.finishing = false;
    this.reader.end();
    this.reader.close();
    this.leftover = null;
    for (let i = 0; i < this.handlers.length; i++) {
      try {
        this.handlers[i].closeConnection?.(this);
      } catch (err) {
        this.onHoldError(i, err);
      }
    }
    this.ctx.connectionClosed(this);
  }

  get isOpen(): boolean {
    return !this.isClosed;
  }

  /**
   * Called by the sweeper for a connection quiet since a burst: nothing in
   * flight, so its ring goes back. (Costs one native listener until the
   * socket closes, so it is done once per burst, after a long quiet.)
   */
  shed(): void {
    if (this.isClosed || this.paused || this.lent === LANDING || !this.reader.idle) return;
    if (!lendBuffer(this.socket, LANDING)) return;
    this.lent = LANDING;
    this.reader.releaseRing();
  }
}
