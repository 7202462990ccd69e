/**
 * The producer's backpressure: when send() must say "wait", and the
 * promises that wait for room (drain) or, in ack mode, for the last ACK
 * (flush).
 *
 *   plain:  room while queued (unwritten) bytes < highWaterMark; drain when 0 queued
 *   acks:   room while unacknowledged bytes < maxUnackedBytes;  flush when 0 unacknowledged
 *   both:   send() throws 'queue_full' past maxQueuedBytes (bytes not yet released)
 *
 * Owner: the Producer; it calls released() whenever bytes were written or
 * acknowledged, and failAll() when it closes or fails.
 */
import type { AckWindow } from './ack-window.js';
import { ProducerError } from './errors.js';
import type { ResolvedOptions } from './options.js';
import type { OutboundQueue } from './outbound-queue.js';
import { settleAll, type Waiter } from './producer-types.js';

export class FlowControl {
  /** send() returned false: emit 'drain' once there is room again. */
  private needDrain = false;
  private drainWaiters: Waiter[] = [];
  private ackWaiters: Waiter[] = [];

  constructor(
    private readonly options: ResolvedOptions,
    private readonly address: string,
    private readonly queue: OutboundQueue,
    private readonly window: AckWindow | null,
  ) {}

  /** Plain: everything is written. Ack mode: the window is below maxUnackedBytes. */
  get drained(): boolean {
    return this.window === null ? this.queue.bytes === 0 : this.window.bytes < this.options.maxUnackedBytes;
  }

  /** Ack mode: everything sent is acknowledged (plain mode: drained). */
  get flushed(): boolean {
    return this.window === null ? this.drained : this.window.frames === 0;
  }

  /** Throws 'queue_full' if `length` more bytes would pass maxQueuedBytes. */
  admit(length: number, connected: boolean): void {
    const queued = this.queue.bytes;
    const max = this.options.maxQueuedBytes;
    if (queued + length <= max) return;
    const hint = connected
      ? 'send() returned false earlier: await drain() before sending more'
      : 'not connected: wait for the connection before sending more';
    throw new ProducerError(
      'queue_full',
      `pkt producer ${this.address}: ${queued} bytes queued; ${length} more would pass maxQueuedBytes (${max}); ${hint}`,
    );
  }

  /** send()'s answer: true while there is room; false arms the 'drain' event. */
  hasRoom(): boolean {
    const window = this.window;
    if (window === null ? this.queue.bytes < this.options.highWaterMark : window.bytes < this.options.maxUnackedBytes) return true;
    this.needDrain = true;
    return false;
  }

  waitDrained(): Promise<void> {
    return new Promise<void>((resolve, reject) => this.drainWaiters.push({ resolve, reject }));
  }

  waitFlushed(): Promise<void> {
    if (this.window === null) return this.waitDrained();
    return new Promise<void>((resolve, reject) => this.ackWaiters.push({ resolve, reject }));
  }

  /** Calls `then` once flushed (or failed), or after `timeoutMs`, whichever comes first; once. */
  whenFlushed(timeoutMs: number, then: () => void): void {
    const timer = setTimeout(then, timeoutMs);
    const done = (): void => {
      clearTimeout(timer);
      then();
    };
    this.waitFlushed().then(done, done);
  }

  /** Bytes were written or acknowledged. Returns true when 'drain' should be emitted. */
  released(): boolean {
    if (!this.drained) return false;
    settleAll(this.drainWaiters, null);
    if (this.flushed) settleAll(this.ackWaiters, null);
    const emit = this.needDrain;
    this.needDrain = false;
    return emit;
  }

  /** Close or failure: every waiter resolves (err null) or rejects. */
  failAll(err: Error | null): void {
    settleAll(this.drainWaiters, err);
    settleAll(this.ackWaiters, err);
  }
}
