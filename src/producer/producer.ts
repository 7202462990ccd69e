/**
 * Producer: sends PKT frames to a pkt-ingest server over one TCP connection.
 *
 *   const producer = new Producer({ host: '127.0.0.1', port: 7400 });
 *   await producer.connect();
 *   for (const frame of frames) if (!producer.send(frame)) await producer.drain();
 *   await producer.close();
 *
 * send() encodes straight into a reused slab; everything sent in one
 * event-loop turn (or until a slab fills) goes out as one corked, vectored
 * write. A slab region is reused only after the write holding it completed.
 *
 * States:   idle -> connecting -> connected -> closing -> closed
 *                     ^    |          |
 *                     |    v          v
 *                     +-- waiting <---+     (reconnect enabled; else -> closed)
 *
 * Delivery is at most once across a broken connection: bytes being written
 * when it broke are dropped (and counted in the 'error'), bytes still queued
 * go out on the next connection, always starting at a frame boundary.
 * 'error' is emitted only while someone listens (a reconnecting producer's
 * errors are transient); a final failure also rejects connect(), drain(),
 * close() and makes send() throw.
 */
import { EventEmitter } from 'node:events';
import type net from 'node:net';
import { encodedLength, type FrameInput } from '../wire/encode.js';
import { backoffDelay } from './backoff.js';
import { connectSocket, readyEvent } from './connect.js';
import { ProducerError, type ProducerErrorReason } from './errors.js';
import { resolveOptions, type ProducerOptions, type ResolvedOptions } from './options.js';
import { type Chunk, OutboundQueue } from './outbound-queue.js';

export type { ProducerOptions } from './options.js';
export { ProducerError, type ProducerErrorReason } from './errors.js';

export interface ProducerEvents {
  /** A connection is up (the first or a reconnect). */
  connect: [];
  /** A connection failed or broke, or the producer failed for good. Only emitted while listened to. */
  error: [ProducerError];
  /** The next connection attempt is scheduled. */
  reconnecting: [{ attempt: number; delayMs: number }];
  /** Everything queued was accepted by the kernel, after send() had returned false. */
  drain: [];
  /** The producer is closed; nothing more will happen. */
  close: [];
}

type State = 'idle' | 'connecting' | 'connected' | 'waiting' | 'closing' | 'closed';

interface Waiter {
  resolve(): void;
  reject(err: Error): void;
}

/** One socket's life: what it holds and what it lost. */
interface Connection {
  readonly socket: net.Socket;
  /** Chunks handed to socket.write whose callbacks have not run. */
  readonly inFlight: Set<Chunk>;
  error: Error | null;
  /** Bytes whose write failed or was cut off. */
  lost: number;
  wasConnected: boolean;
}

// Idle memory bound: a few slabs cover highWaterMark; more are allocated only under load.
const MAX_FREE_SLABS = 8;

export class Producer extends EventEmitter<ProducerEvents> {
  /** "host:port", as it appears in every error message. */
  readonly address: string;
  private readonly options: ResolvedOptions;
  private readonly queue: OutboundQueue;
  private state: State = 'idle';
  private conn: Connection | null = null;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private closeTimer: NodeJS.Timeout | null = null;
  private flushImmediate: NodeJS.Immediate | null = null;
  private needDrain = false;
  private failure: ProducerError | null = null;
  private connectWaiters: Waiter[] = [];
  private drainWaiters: Waiter[] = [];
  private closeWaiter: Waiter | null = null;
  private closePromise: Promise<void> | null = null;
  private readonly onFlushTurn = (): void => {
    this.flushImmediate = null;
    this.flush();
  };

  constructor(options: ProducerOptions) {
    super();
    this.options = resolveOptions(options);
    const { host, port, slabBytes } = this.options;
    this.address = `${host.includes(':') ? `[${host}]` : host}:${port}`;
    this.queue = new OutboundQueue(slabBytes, MAX_FREE_SLABS);
  }

  get connected(): boolean {
    return this.state === 'connected';
  }

  /** Bytes accepted by send()/sendRaw() and not yet accepted by the kernel. */
  get queuedBytes(): number {
    return this.queue.bytes;
  }

  /**
   * Resolves once connected. With reconnect enabled it keeps retrying (see the
   * 'error' event) until it connects or close() is called; without, the first
   * failure rejects.
   */
  connect(): Promise<void> {
    if (this.state === 'connected') return Promise.resolve();
    if (this.state === 'closing' || this.state === 'closed') return Promise.reject(this.closedError());
    const connected = new Promise<void>((resolve, reject) => this.connectWaiters.push({ resolve, reject }));
    if (this.state === 'idle') this.open();
    return connected;
  }

  /**
   * Encodes `frame` into the write slab. Returns false once highWaterMark bytes
   * are waiting: await drain() before sending more. Throws a ProducerError
   * ('queue_full') past maxQueuedBytes, or ('closed') after close or failure.
   */
  send(frame: FrameInput): boolean {
    this.assertOpen();
    const length = encodedLength(frame);
    this.admit(length);
    // A full slab goes out at once, so the kernel works while we encode on.
    if (this.queue.appendFrame(frame, length)) this.flush();
    else this.scheduleFlush();
    return this.belowHighWater();
  }

  /**
   * Queues already-encoded frames, written as they are (whole frames only:
   * the server reads one stream). The buffer is not copied: do not change it
   * until drain() resolves.
   */
  sendRaw(bytes: Buffer): boolean {
    this.assertOpen();
    this.admit(bytes.length);
    if (bytes.length > 0) {
      this.queue.appendRaw(bytes);
      this.scheduleFlush();
    }
    return this.belowHighWater();
  }

  /** Resolves when everything sent so far is accepted by the kernel (or dropped by a broken connection). */
  drain(): Promise<void> {
    if (this.queue.bytes === 0) return Promise.resolve();
    if (this.state === 'closed') return Promise.reject(this.closedError());
    return new Promise<void>((resolve, reject) => this.drainWaiters.push({ resolve, reject }));
  }

  /**
   * Flushes what is queued (waiting, like drain(), for the server to read it),
   * sends FIN and resolves when the connection is closed. Rejects
   * ('undelivered') if queued bytes could not be written, e.g. because no
   * connection was up.
   */
  close(): Promise<void> {
    if (this.closePromise !== null) return this.closePromise;
    this.closePromise = new Promise<void>((resolve, reject) => {
      this.closeWaiter = { resolve, reject };
    });
    const previous = this.state;
    if (previous === 'closed') {
      // Already failed for good: nothing is left to release.
      this.closeWaiter?.resolve();
      return this.closePromise;
    }
    this.state = 'closing';
    this.clearTimers();
    this.settle(this.connectWaiters, this.closedError());
    const conn = this.conn;
    if (conn === null) {
      this.finishClose(0);
    } else if (previous === 'connected') {
      this.writeOut(conn);
      conn.socket.end(() => {
        // Our bytes and FIN are out; give the server a bounded time to close its side.
        if (this.state === 'closing') this.closeTimer = setTimeout(() => conn.socket.destroy(), this.options.closeTimeoutMs);
      });
    } else {
      conn.socket.destroy();
    }
    return this.closePromise;
  }

  private open(): void {
    this.state = 'connecting';
    const socket = connectSocket(this.options.host, this.options.port, this.options.tls);
    const conn: Connection = { socket, inFlight: new Set(), error: null, lost: 0, wasConnected: false };
    this.conn = conn;
    socket.on(readyEvent(this.options.tls), () => this.onConnect(conn));
    socket.on('error', (err) => {
      conn.error ??= err;
    });
    socket.on('close', () => this.onClose(conn));
    // The server sends nothing; reading lets us see its FIN.
    socket.resume();
  }

  private onConnect(conn: Connection): void {
    if (this.state !== 'connecting') return;
    conn.wasConnected = true;
    this.state = 'connected';
    this.attempt = 0;
    this.settle(this.connectWaiters, null);
    this.emit('connect');
    this.writeOut(conn);
  }

  private onClose(conn: Connection): void {
    // Whatever the socket still held is gone with it.
    for (const chunk of conn.inFlight) {
      conn.lost += chunk.bytes.length;
      this.queue.release(chunk);
    }
    conn.inFlight.clear();
    this.conn = null;
    if (this.state === 'closing') {
      this.finishClose(conn.lost);
      return;
    }
    const cause = conn.error?.message ?? 'the server closed the connection';
    const reason: ProducerErrorReason = conn.wasConnected ? 'connection_lost' : 'connect_failed';
    let message = `pkt producer ${this.address}: ${conn.wasConnected ? 'connection lost' : 'cannot connect'} (${cause})`;
    if (conn.lost > 0) message += `; ${conn.lost} bytes being written were dropped`;
    const errorOptions = conn.error === null ? undefined : { cause: conn.error };
    const reconnect = this.options.reconnect;
    if (reconnect === false) {
      this.fail(new ProducerError(reason, `${message}; reconnect is disabled`, errorOptions));
      return;
    }
    this.attempt++;
    const delayMs = backoffDelay(this.attempt, reconnect);
    this.state = 'waiting';
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.open();
    }, delayMs);
    this.report(new ProducerError(reason, `${message}; reconnecting in ${delayMs} ms (attempt ${this.attempt})`, errorOptions));
    this.emit('reconnecting', { attempt: this.attempt, delayMs });
    this.afterRelease();
  }

  private flush(): void {
    if (this.state === 'connected' && this.conn !== null) this.writeOut(this.conn);
  }

  /** Everything queued goes out as one corked (vectored) write. */
  private writeOut(conn: Connection): void {
    const { socket } = conn;
    if (socket.destroyed || socket.writableEnded) return;
    const chunks = this.queue.take();
    if (chunks.length === 0) return;
    socket.cork();
    for (const chunk of chunks) {
      conn.inFlight.add(chunk);
      socket.write(chunk.bytes, (err) => this.onWritten(conn, chunk, err));
    }
    socket.uncork();
  }

  private onWritten(conn: Connection, chunk: Chunk, err: Error | null | undefined): void {
    // Already released if the socket closed first.
    if (!conn.inFlight.delete(chunk)) return;
    // A destroyed socket completes its cancelled write without an error.
    if (err || conn.socket.destroyed) conn.lost += chunk.bytes.length;
    this.queue.release(chunk);
    this.afterRelease();
  }

  private afterRelease(): void {
    if (this.queue.bytes !== 0) return;
    this.settle(this.drainWaiters, null);
    if (this.needDrain) {
      this.needDrain = false;
      this.emit('drain');
    }
  }

  private finishClose(lost: number): void {
    this.state = 'closed';
    this.clearTimers();
    const undelivered = lost + this.queue.discard();
    const err =
      undelivered === 0
        ? null
        : new ProducerError('undelivered', `pkt producer ${this.address}: closed with ${undelivered} bytes undelivered`);
    this.settle(this.drainWaiters, err);
    if (err === null) this.closeWaiter?.resolve();
    else this.closeWaiter?.reject(err);
    this.emit('close');
  }

  /** Reconnect is disabled and the connection failed: final. */
  private fail(err: ProducerError): void {
    this.state = 'closed';
    this.failure = err;
    this.clearTimers();
    this.queue.discard();
    this.settle(this.connectWaiters, err);
    this.settle(this.drainWaiters, err);
    this.report(err);
    this.emit('close');
  }

  private admit(length: number): void {
    const queued = this.queue.bytes;
    const max = this.options.maxQueuedBytes;
    if (queued + length <= max) return;
    const hint =
      this.state === 'connected'
        ? 'send() returned false earlier: await drain() before sending more'
        : 'not connected: wait for the connection before sending more';
    throw new ProducerError(
      'queue_full',
      `pkt producer ${this.address}: ${queued} bytes queued; ${length} more would pass maxQueuedBytes (${max}); ${hint}`,
    );
  }

  private assertOpen(): void {
    if (this.state === 'closing' || this.state === 'closed') throw this.closedError();
  }

  private closedError(): ProducerError {
    if (this.failure !== null) {
      return new ProducerError('closed', `pkt producer ${this.address}: failed: ${this.failure.message}`, { cause: this.failure });
    }
    return new ProducerError('closed', `pkt producer ${this.address}: closed`);
  }

  private belowHighWater(): boolean {
    if (this.queue.bytes < this.options.highWaterMark) return true;
    this.needDrain = true;
    return false;
  }

  private scheduleFlush(): void {
    this.flushImmediate ??= setImmediate(this.onFlushTurn);
  }

  private clearTimers(): void {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    if (this.closeTimer !== null) clearTimeout(this.closeTimer);
    if (this.flushImmediate !== null) clearImmediate(this.flushImmediate);
    this.retryTimer = this.closeTimer = null;
    this.flushImmediate = null;
  }

  /** Resolves (err null) or rejects every waiter in `waiters`, emptying it. */
  private settle(waiters: Waiter[], err: Error | null): void {
    for (const waiter of waiters.splice(0)) {
      if (err === null) waiter.resolve();
      else waiter.reject(err);
    }
  }

  private report(err: ProducerError): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }
}
