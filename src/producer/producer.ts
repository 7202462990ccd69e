/**
 * Producer: sends PKT frames to a pkt-ingest server over one TCP connection.
 *   await producer.connect(); if (!producer.send(frame)) await producer.drain(); await producer.close();
 *
 * send() encodes straight into a reused slab; everything sent in one
 * event-loop turn (or until a slab fills) goes out as one corked, vectored
 * write. A slab region is reused only after the write holding it completed
 * (plain mode) or an ACK covered it (ack mode).
 *
 * States:   idle -> connecting -> connected -> closing -> closed
 *                     ^    |          |
 *                     |    v          v
 *                     +-- waiting <---+     (reconnect enabled; else -> closed)
 *
 * Plain mode: at most once: bytes being written when a connection broke are
 * dropped (counted in the 'error'), queued ones go out on the next one.
 * Ack mode (`acks: true`, docs/protocol.md Acknowledgements): at least once; see
 * AckWindow (stamps, keeps and resends frames) and FrameWriter. flush()
 * resolves when everything sent is acknowledged; FINAL surfaces as 'final'.
 * 'error' is emitted only while someone listens; a final failure also
 * rejects connect(), drain(), flush(), close() and makes send() throw.
 */
import { EventEmitter } from 'node:events';
import { encodedLength, type FrameInput } from '../wire/encode.js';
import { AckWindow } from './ack-window.js';
import { closedError, ProducerError } from './errors.js';
import { Link } from './link.js';
import { resolveOptions, type ProducerOptions, type ResolvedOptions } from './options.js';
import { FlowControl } from './flow-control.js';
import { FrameWriter } from './frame-writer.js';
import { OutboundQueue } from './outbound-queue.js';
import { type Connection, type ProducerEvents, type ProducerStats, settleAll, type Waiter } from './producer-types.js';

export type { ProducerOptions } from './options.js';
export { ProducerError, type ProducerErrorReason } from './errors.js';
export type { ProducerEvents, ProducerStats } from './producer-types.js';

type State = 'idle' | 'connecting' | 'connected' | 'waiting' | 'closing' | 'closed';

// Idle memory bound: a few slabs cover highWaterMark; more are allocated only under load.
const MAX_FREE_SLABS = 8;

export class Producer extends EventEmitter<ProducerEvents> {
  /** "host:port", as it appears in every error message. */
  readonly address: string;
  private readonly options: ResolvedOptions;
  private readonly queue: OutboundQueue;
  /** Ack mode only: the unacknowledged frames (null in plain mode). */
  private readonly window: AckWindow | null;
  private readonly writer: FrameWriter;
  private readonly flow: FlowControl;
  private sentFrames = 0;
  private state: State = 'idle';
  /** close() was called in ack mode and waits for the last ACKs: no more sends. */
  private closeRequested = false;
  private readonly link: Link;
  private closeTimer: NodeJS.Timeout | null = null;
  private flushImmediate: NodeJS.Immediate | null = null;
  private failure: ProducerError | null = null;
  private connectWaiters: Waiter[] = [];
  private closeWaiter: Waiter | null = null;
  private closePromise: Promise<void> | null = null;
  private readonly onFlushTurn = (): void => {
    this.flushImmediate = null;
    const conn = this.link.conn;
    if (this.state === 'connected' && conn !== null) this.writer.writeOut(conn);
  };

  constructor(options: ProducerOptions) {
    super();
    this.options = resolveOptions(options);
    const { host, port, slabBytes, acks } = this.options;
    this.address = `${host.includes(':') ? `[${host}]` : host}:${port}`;
    this.queue = new OutboundQueue(slabBytes, MAX_FREE_SLABS);
    this.window = acks ? new AckWindow(this.queue) : null;
    this.link = new Link(host, port, this.address, acks, this.options.tls, {
      up: (conn) => this.onConnect(conn),
      ack: (conn, committed, reason) => this.onAck(conn, committed, reason),
      down: (conn) => this.onClose(conn),
    });
    this.flow = new FlowControl(this.options, this.address, this.queue, this.window);
    this.writer = new FrameWriter(this.queue, this.window, this.afterRelease);
  }

  get connected(): boolean {
    return this.state === 'connected';
  }

  /** Bytes accepted by send()/sendRaw() and not yet released (plain: written; ack mode: acknowledged). */
  get queuedBytes(): number {
    return this.queue.bytes;
  }

  /** Ack mode: this producer's 16-byte id in every frame's `sequence` extension (a copy); null otherwise. */
  get producerId(): Buffer | null {
    return this.window === null ? null : Buffer.from(this.window.stamp.producerId);
  }

  get stats(): ProducerStats {
    return { sent: this.sentFrames, acked: this.window?.acked ?? 0, resent: this.window?.resent ?? 0 };
  }

  /**
   * Resolves once connected. With reconnect enabled it keeps retrying (see the
   * 'error' event) until it connects or close() is called; without, the first
   * failure rejects.
   */
  connect(): Promise<void> {
    if (this.state === 'connected') return Promise.resolve();
    if (this.state === 'closing' || this.state === 'closed') return Promise.reject(closedError(this.address, this.failure));
    const connected = new Promise<void>((resolve, reject) => this.connectWaiters.push({ resolve, reject }));
    if (this.state === 'idle') {
      this.state = 'connecting';
      this.link.open();
    }
    return connected;
  }

  /**
   * Encodes `frame` into the write slab. Returns false once highWaterMark bytes
   * are waiting (ack mode: maxUnackedBytes are unacknowledged): await drain()
   * before sending more. Throws a ProducerError ('queue_full') past
   * maxQueuedBytes, or ('closed') after close or failure.
   */
  send(frame: FrameInput): boolean {
    this.assertOpen();
    const stamp = this.window?.stamp ?? null;
    const length = encodedLength(frame, stamp);
    this.flow.admit(length, this.state === 'connected');
    // A full slab goes out at once, so the kernel works while we encode on.
    if (this.queue.appendFrame(frame, length, stamp)) this.onFlushTurn();
    else this.scheduleFlush();
    this.sentFrames++;
    this.window?.sent(length); // and the next sequence number
    return this.flow.hasRoom();
  }

  /**
   * Queues already-encoded frames, written as they are (whole frames only:
   * the server reads one stream; in ack mode they are not stamped: set
   * ACK_REQUEST in them yourself). The buffer is not copied: do not change
   * it until drain() (ack mode: flush()) resolves.
   */
  sendRaw(bytes: Buffer): boolean {
    this.assertOpen();
    const frames = this.window?.checkRaw(bytes, this.address) ?? 0;
    this.flow.admit(bytes.length, this.state === 'connected');
    this.window?.sentRaw(bytes);
    this.sentFrames += frames;
    if (bytes.length > 0) {
      this.queue.appendRaw(bytes, frames);
      this.scheduleFlush();
    }
    return this.flow.hasRoom();
  }

  /** Resolves when send() may go on: everything sent was taken by the kernel (ack mode: the window is below maxUnackedBytes). */
  drain(): Promise<void> {
    if (this.flow.drained) return Promise.resolve();
    if (this.state === 'closed') return Promise.reject(closedError(this.address, this.failure));
    return this.flow.waitDrained();
  }

  /** Plain mode: drain(). Ack mode: resolves once the server acknowledged every frame sent so far. */
  flush(): Promise<void> {
    if (this.flow.flushed) return Promise.resolve();
    if (this.state === 'closed') return Promise.reject(closedError(this.address, this.failure));
    return this.flow.waitFlushed();
  }

  /**
   * Flushes what is queued (ack mode: waits up to closeTimeoutMs for the ACKs),
   * sends FIN and resolves when the connection is closed. Rejects
   * ('undelivered') if queued bytes could not be written (ack mode: were not
   * acknowledged), e.g. because no connection was up.
   */
  close(): Promise<void> {
    if (this.closePromise !== null) return this.closePromise;
    this.closePromise = new Promise<void>((resolve, reject) => {
      this.closeWaiter = { resolve, reject };
    });
    if (this.window !== null && this.window.frames > 0 && this.state !== 'closed' && this.state !== 'idle') {
      this.closeRequested = true;
      this.flow.whenFlushed(this.options.closeTimeoutMs, () => this.closeNow());
    } else this.closeNow();
    return this.closePromise;
  }

  private closeNow(): void {
    const previous = this.state;
    if (previous === 'closed') {
      // Already failed for good: nothing is left to release.
      this.closeWaiter?.resolve();
      return;
    }
    this.state = 'closing';
    this.clearTimers();
    settleAll(this.connectWaiters, closedError(this.address, this.failure));
    const conn = this.link.conn;
    if (conn === null) {
      this.finishClose(0);
    } else if (previous === 'connected') {
      this.writer.writeOut(conn);
      conn.socket.end(() => {
        // Our bytes and FIN are out; give the server a bounded time to close its side.
        if (this.state === 'closing') this.closeTimer = setTimeout(() => conn.socket.destroy(), this.options.closeTimeoutMs);
      });
    } else {
      conn.socket.destroy();
    }
  }

  private onConnect(conn: Connection): void {
    if (this.state !== 'connecting' && this.state !== 'waiting') return; // waiting: a retry of the link
    conn.wasConnected = true;
    this.state = 'connected';
    this.link.attempt = 0;
    settleAll(this.connectWaiters, null);
    this.emit('connect');
    // Ack mode: the new connection counts from 1, starting with every frame not acknowledged yet.
    this.writer.start(conn);
  }

  private onAck(conn: Connection, committed: number, reason: string | null): void {
    if (conn !== this.link.conn || !conn.wasConnected) return;
    if (this.writer.ack(conn, committed) < 0) return this.link.breakProtocol(conn, `it acknowledged ${committed} frames, more than were sent`);
    if (reason === null) return;
    conn.final = true; // the server closes: what is still queued goes out on the next connection
    this.emit('final', { reason, committed });
  }

  private onClose(conn: Connection): void {
    // Plain mode: whatever the socket still held is gone with it.
    this.writer.closed(conn);
    if (this.state === 'closing') {
      this.finishClose(conn.lost);
      return;
    }
    const lost = this.link.retryAfter(conn, this.options.reconnect, this.window?.frames ?? 0);
    if (lost.delayMs < 0) return this.fail(lost.error);
    this.state = 'waiting';
    this.report(lost.error);
    this.emit('reconnecting', { attempt: this.link.attempt, delayMs: lost.delayMs });
    this.afterRelease();
  }

  /** Bytes were released (written, or acknowledged): wake whoever waits for room or for the ACKs. */
  private readonly afterRelease = (): void => void (this.flow.released() && this.emit('drain'));

  private finishClose(lost: number): void {
    this.state = 'closed';
    this.clearTimers();
    const unacked = this.window?.frames ?? 0;
    const undelivered = lost + this.writer.discard();
    const what = unacked > 0 ? ` (${unacked} frames not acknowledged)` : '';
    const err =
      undelivered === 0
        ? null
        : new ProducerError('undelivered', `pkt producer ${this.address}: closed with ${undelivered} bytes undelivered${what}`);
    this.flow.failAll(err);
    if (err === null) this.closeWaiter?.resolve();
    else this.closeWaiter?.reject(err);
    this.emit('close');
  }

  /** Reconnect is disabled and the connection failed: final. */
  private fail(err: ProducerError): void {
    this.failure = err;
    this.state = 'closed';
    this.clearTimers();
    this.writer.discard();
    settleAll(this.connectWaiters, err);
    this.flow.failAll(err);
    this.report(err);
    this.emit('close');
  }

  private assertOpen(): void {
    if (this.closeRequested || this.state === 'closing' || this.state === 'closed') throw closedError(this.address, this.failure);
  }


  private scheduleFlush(): void {
    this.flushImmediate ??= setImmediate(this.onFlushTurn);
  }

  private clearTimers(): void {
    this.link.cancelRetry();
    if (this.closeTimer !== null) clearTimeout(this.closeTimer);
    if (this.flushImmediate !== null) clearImmediate(this.flushImmediate);
    this.closeTimer = null;
    this.flushImmediate = null;
  }

  private report(err: ProducerError): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }
}
