/**
 * The per-connection ACK writer: the only thing that writes to a producer.
 * Fed by commit tracking with the connection's committed count, it writes
 * coalesced cumulative ACK frames and, at the end, one ACK + FINAL.
 *
 *   state        commit(n > latest)          write callback            final(reason)
 *   idle         -> queued (scheduler)       -                         write FINAL -> finished
 *   queued       latest = n (coalesced)      -                         write FINAL -> finished
 *   in flight    latest = n (kept, 1 number) latest > sent ? queued    write FINAL after it -> finished
 *                                                  : idle
 *   finished     ignored                     resolves final()          same promise
 *
 * Memory: at most ONE plain ACK is ever handed to the socket and not yet
 * written out (the next waits for the previous write's callback, which a
 * producer that never reads never triggers), so a stalled peer costs one
 * 34-byte buffer, reused, plus one number. This is stricter than waiting
 * for 'drain' (which would let up to writableHighWaterMark bytes of ACKs
 * pile up per connection). Writes never block reading: they are queued
 * socket writes, never awaited on the read path. Counts are never lowered
 * or repeated; FINAL carries the latest count, which may repeat the last.
 *
 * Owner: the connection (phase 2) creates one when it enters ack mode and
 * calls final() before every close of an ack-mode connection (frame error,
 * handler failure, idle timeout, drain); on a crash nothing is written.
 */
import { ACK_FRAME_BYTES, ackFrameLength, encodeAck, type FinalReason } from '../wire/ack.js';
import type { AckScheduler, Flushable } from './ack-scheduler.js';

/** What the writer needs of a socket (net.Socket fits). */
export interface AckSink {
  /** The callback runs once the bytes left user space (or with an error). */
  write(chunk: Buffer, callback: (error?: Error | null) => void): boolean;
  readonly destroyed: boolean;
}

/** Default bound on waiting for a FINAL to be written before the caller closes anyway. */
export const DEFAULT_FINAL_TIMEOUT_MS = 1000;

export class AckWriter implements Flushable {
  /** The latest committed count handed in. */
  committed = 0;
  /** The count of the last ACK written (FINAL included). */
  sent = 0;
  private queued = false;
  private inFlight = false;
  private finalPromise: Promise<boolean> | null = null;
  /** Reused for every plain ACK: only one is in flight at a time. */
  private readonly buffer = Buffer.allocUnsafeSlow(ACK_FRAME_BYTES);
  private readonly onWritten = (error?: Error | null): void => {
    this.inFlight = false;
    if (error || this.finalPromise !== null) return;
    if (this.committed > this.sent) this.queue();
  };

  constructor(
    private readonly sink: AckSink,
    private readonly scheduler: AckScheduler,
  ) {}

  /** The connection's committed count is now `count` (lower or equal counts are ignored). */
  commit(count: number): void {
    if (count <= this.committed || this.finalPromise !== null) return;
    this.committed = count;
    if (!this.inFlight) this.queue();
  }

  /** True once final() was called. */
  get finished(): boolean {
    return this.finalPromise !== null;
  }

  /** Called by the scheduler: write one ACK with the latest count if allowed. */
  flushAck(): void {
    this.queued = false;
    if (this.inFlight || this.finalPromise !== null || this.committed <= this.sent || this.sink.destroyed) return;
    const count = this.committed;
    encodeAck(count, null, this.scheduler.nowMicros(), this.buffer, 0);
    this.sent = count;
    this.inFlight = true;
    this.scheduler.counter.acksSent++;
    this.sink.write(this.buffer, this.onWritten);
  }

  /**
   * Writes ACK + FINAL with the latest committed count and resolves true
   * once it left user space, false if the socket is gone, failed the write
   * or did not take it within `timeoutMs`: then the caller closes anyway.
   * Later commits are ignored; a second call returns the same promise.
   */
  final(reason: FinalReason, timeoutMs = DEFAULT_FINAL_TIMEOUT_MS): Promise<boolean> {
    if (this.finalPromise !== null) return this.finalPromise;
    if (this.sink.destroyed) return (this.finalPromise = Promise.resolve(false));
    this.finalPromise = new Promise<boolean>((resolve) => {
      const frame = Buffer.allocUnsafe(ackFrameLength(reason));
      encodeAck(this.committed, reason, this.scheduler.nowMicros(), frame, 0);
      this.sent = this.committed;
      this.scheduler.counter.acksSent++;
      const timer = setTimeout(() => resolve(false), timeoutMs);
      timer.unref();
      this.sink.write(frame, (error) => {
        clearTimeout(timer);
        resolve(!error);
      });
    });
    return this.finalPromise;
  }

  private queue(): void {
    if (this.queued) return;
    this.queued = true;
    this.scheduler.schedule(this);
  }
}
