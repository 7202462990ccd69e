/**
 * One outbound TCP connection relaying whole-frame batches, byte-exact, in
 * order, reconnecting with backoff while the target is down.
 *
 *   send(batch) --> queue: [ written to the socket, awaiting callback | waiting ]
 *                            at most queueBytes          (views, not copies)
 *
 * A batch's promise resolves when the socket's write callback says the
 * kernel took all of it; the caller keeps the bytes until then (the
 * server's rings hold them and pause producers), so the queue costs no copy
 * and a slow or absent target means backpressure, never a silent drop.
 * queueBytes bounds what is handed to the socket at once; later batches
 * wait in the queue, and their promises resolve later.
 *
 * Delivery is at-least-once up to the kernel. When a connection fails,
 * every batch whose write callback had not succeeded is sent again, whole,
 * first thing on the next connection: the target may see a frame twice
 * (and, on the dead connection, a torn tail it counts as `truncated`),
 * never a torn frame on a live one. TCP gives no delivery ack: bytes the
 * kernel had accepted when the connection died may be lost.
 *
 * With `acks` (docs/protocol.md Acknowledgements) that gap closes: each batch is
 * written as a stamped copy (forward-acks.ts) with ACK_REQUEST set, its
 * promise still resolves when the socket took it (ring bytes released),
 * but it stays queued until the target's ACK covers its frames; then
 * `onAcked` tells the handler how many of its frames committed. A new
 * connection resends every batch not acknowledged, from its first
 * unacknowledged frame. queueBytes then bounds the unacknowledged bytes.
 */
import { connect, type Socket } from 'node:net';
import { backoffDelay } from '../retry/backoff.js';
import { AckReader } from '../ack/ack-reader.js';
import { type AckedBatch, ForwardAcks, type ForwardCloseResult, type OnAcked, unforwarded } from './forward-acks.js';

export type { ForwardCloseResult, OnAcked } from './forward-acks.js';

export interface ForwardConnectionOptions {
  readonly host: string;
  readonly port: number;
  /** Bytes handed to the socket and not yet confirmed, at most (one batch may exceed it). */
  readonly queueBytes: number;
  readonly reconnectMinMs: number;
  readonly reconnectMaxMs: number;
  /** A connect that takes longer fails and is retried. Default 10 s. */
  readonly connectTimeoutMs?: number;
  /** close() waits this long for the queue to drain, then drops it (rejecting). Default 5 s. */
  readonly closeTimeoutMs?: number;
  /** Request acknowledgements from the target and keep batches until acknowledged. Default false. */
  readonly acks?: boolean;
}

interface Batch extends AckedBatch {
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/** Half fixed, half random: reconnects of many servers spread out, and never hammer. */
export class ForwardConnection {
  readonly target: string;
  connected = false;
  lastError: Error | null = null;
  bytesSent = 0;
  batchesSent = 0;
  connects = 0;
  /** Batches sent again after a connection failed under them. */
  resent = 0;
  /** Connected (after a connect or a reconnect). */
  onUp: (() => void) | null = null;
  /** A connection or an attempt failed; the next attempt is in `delayMs`. */
  onDown: ((error: Error | null, attempt: number, delayMs: number) => void) | null = null;

  private readonly options: ForwardConnectionOptions;
  private socket: Socket | null = null;
  private readonly queue: Batch[] = [];
  /** queue[0, written) went to the current socket; their bytes. */
  private written = 0;
  private writtenBytes = 0;
  private attempt = 0;
  private timer: NodeJS.Timeout | null = null;
  private state: 'idle' | 'running' | 'closing' | 'closed' = 'idle';
  private closing: Promise<ForwardCloseResult> | null = null;
  private drained: (() => void) | null = null;
  /** Ack mode: counts per target connection, and stats (framesAcked, finals). */
  readonly acks = new ForwardAcks();

  constructor(options: ForwardConnectionOptions) {
    this.options = options;
    this.target = `${options.host}:${options.port}`;
  }

  /** Bytes queued, sent or not, not yet confirmed. */
  get queuedBytes(): number {
    let n = 0;
    for (const b of this.queue) n += b.bytes;
    return n;
  }

  get queuedBatches(): number {
    return this.queue.length;
  }

  /** Bytes the socket holds in user space (the kernel would not take them yet). */
  get socketBufferedBytes(): number {
    return this.socket?.writableLength ?? 0;
  }

  /** Starts connecting; sends begin once connected. */
  start(): void {
    if (this.state !== 'idle') return;
    this.state = 'running';
    this.connect();
  }

  /** Queues whole-frame views; resolves once the socket took them (see the delivery note). */
  send(segments: Buffer[], onAcked: OnAcked | null = null): Promise<void> {
    if (this.state === 'closing' || this.state === 'closed') {
      return Promise.reject(new Error(`forward to ${this.target} is closed`));
    }
    let bytes = 0;
    for (const s of segments) bytes += s.length;
    if (bytes === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.queue.push({ segments, bytes, resolve, reject, onAcked, frames: 0, acked: 0 });
      this.pump();
    });
  }

  /**
   * Waits up to `timeoutMs` (default closeTimeoutMs) for the queue to drain
   * (reconnecting if need be), then ends the connection. Batches still
   * queued then are rejected; resolves to the frames they held (ack mode:
   * those the target did not acknowledge), which never reached the target.
   */
  close(timeoutMs = this.options.closeTimeoutMs ?? 5000): Promise<ForwardCloseResult> {
    this.closing ??= this.finish(timeoutMs);
    return this.closing;
  }

  private async finish(timeoutMs: number): Promise<ForwardCloseResult> {
    const wasIdle = this.state === 'idle';
    this.state = 'closing';
    const deadline = Date.now() + timeoutMs;
    const flushed = wasIdle ? this.queue.length === 0 : await this.waitDrained(deadline - Date.now());
    this.state = 'closed';
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const socket = this.socket;
    if (socket !== null && flushed && this.connected) {
      socket.end();
      await waitClose(socket, Math.max(deadline - Date.now(), 100));
    }
    socket?.destroy();
    const lost = this.queue.splice(0);
    const result = unforwarded(lost);
    if (lost.length > 0) {
      const error = new Error(`forward to ${this.target}: closed with ${lost.length} batches (${result.unforwardedBytes} bytes) undelivered`);
      for (const b of lost) b.reject(error);
    }
    return result;
  }

  private waitDrained(timeoutMs: number): Promise<boolean> {
    if (this.queue.length === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.drained = null;
        resolve(false);
      }, Math.max(timeoutMs, 0));
      this.drained = () => {
        clearTimeout(timer);
        this.drained = null;
        resolve(true);
      };
    });
  }

  private connect(): void {
    this.timer = null;
    const socket = connect({ host: this.options.host, port: this.options.port });
    this.socket = socket;
    const connectTimeoutMs = this.options.connectTimeoutMs ?? 10_000;
    socket.setTimeout(connectTimeoutMs);
    socket.on('timeout', () => socket.destroy(new Error(`connect to ${this.target} timed out after ${connectTimeoutMs} ms`)));
    socket.once('connect', () => this.onConnect(socket));
    socket.on('error', (error) => {
      this.lastError = error;
    });
    socket.on('close', () => this.onClose(socket));
    if (this.options.acks) {
      const reader = new AckReader({
        onAck: (committed, reason) => this.onAck(socket, committed, reason),
        onProtocolError: (message) => socket.destroy(new Error(`forward target ${this.target}: ${message}`)),
      });
      socket.on('data', (chunk: Buffer) => reader.push(chunk));
    } else {
      // Read and discard whatever the target sends: reading is how its FIN is noticed.
      socket.resume();
    }
  }

  /** Ack mode: the target acknowledged `committed` frames of `socket`; batches it covers leave the queue. */
  private onAck(socket: Socket, committed: number, reason: string | null): void {
    if (socket !== this.socket) return;
    if (reason !== null) this.acks.finals++; // the target closes; the rest goes out on the next connection
    const done = this.acks.ack(this.queue, committed);
    if (done < 0) {
      socket.destroy(new Error(`forward target ${this.target} acknowledged ${committed} frames, more than were sent`));
      return;
    }
    for (const batch of this.queue.splice(0, done)) {
      this.written--;
      this.writtenBytes -= batch.bytes;
      this.bytesSent += batch.bytes;
      this.batchesSent++;
    }
    if (this.queue.length === 0) this.drained?.();
    else this.pump();
  }

  private onConnect(socket: Socket): void {
    socket.setTimeout(0);
    socket.setNoDelay(true); // batches are already coalesced; Nagle would only add latency
    socket.setKeepAlive(true, 10_000);
    this.connected = true;
    this.attempt = 0;
    this.connects++;
    this.onUp?.();
    this.pump();
  }

  private onClose(socket: Socket): void {
    if (socket !== this.socket) return;
    this.socket = null;
    this.connected = false;
    // Unconfirmed batches go out again, whole (ack mode: from the first unacknowledged frame) and first.
    this.resent += this.written;
    this.written = 0;
    this.writtenBytes = 0;
    this.acks.newConnection();
    if (this.state === 'closed' || this.state === 'idle') return;
    this.attempt++;
    const delay = backoffDelay(this.attempt, { minMs: this.options.reconnectMinMs, maxMs: this.options.reconnectMaxMs });
    this.onDown?.(this.lastError, this.attempt, delay);
    this.timer = setTimeout(() => this.connect(), delay);
    this.timer.unref(); // close() keeps its own timer; a retry alone need not hold the process
  }

  /** Hands waiting batches to the socket, up to queueBytes, as one corked writev. */
  private pump(): void {
    const socket = this.socket;
    if (!this.connected || socket === null) return;
    const queue = this.queue;
    if (this.written >= queue.length || this.writtenBytes >= this.options.queueBytes) return;
    socket.cork();
    while (this.written < queue.length && this.writtenBytes < this.options.queueBytes) {
      const batch = queue[this.written++];
      this.writtenBytes += batch.bytes;
      if (this.options.acks) {
        socket.write(this.acks.stamped(batch), (error) => !error && batch.resolve()); // ring released; the copy stays
        continue;
      }
      const last = batch.segments.length - 1;
      for (let i = 0; i < last; i++) socket.write(batch.segments[i]);
      socket.write(batch.segments[last], (error) => this.onWritten(socket, batch, error));
    }
    socket.uncork();
  }


  private onWritten(socket: Socket, batch: Batch, error: Error | null | undefined): void {
    // A failed write is left to onClose, which queues it again. So is one that "succeeds" on a
    // destroyed socket: Node then calls back without an error for a cancelled write.
    if (error || socket.destroyed || socket !== this.socket || this.queue[0] !== batch) return;
    this.queue.shift();
    this.written--;
    this.writtenBytes -= batch.bytes;
    this.bytesSent += batch.bytes;
    this.batchesSent++;
    batch.resolve();
    if (this.queue.length === 0) this.drained?.();
    else this.pump();
  }
}

function waitClose(socket: Socket, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
