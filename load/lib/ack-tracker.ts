/**
 * `--acks`: what one load connection learns from the server's ACK frames.
 * Every write of a run of frames is stamped with the time and the
 * connection's cumulative frame count; when an ACK covers that count, the
 * run's ack latency is sampled (one sample per write of ~256 KiB, never per
 * frame, so tracking costs nothing measurable).
 */
import type net from 'node:net';
import { performance } from 'node:perf_hooks';
import { AckReader } from '../../src/ack/ack-reader.js';

export class AckTracker {
  /** Frames the server acknowledged on this connection. */
  acked = 0;
  /** Ack latency samples, ms. */
  readonly latenciesMs: number[] = [];
  /** Set when the server sent ACK + FINAL. */
  finalReason: string | null = null;
  private readonly marks: { frames: number; at: number }[] = [];
  private head = 0;
  private waiter: { frames: number; resolve: () => void } | null = null;

  constructor(socket: net.Socket) {
    const reader = new AckReader({
      onAck: (committed, reason) => this.onAck(committed, reason),
      onProtocolError: (message) => socket.destroy(new Error(`server: ${message}`)),
    });
    socket.on('data', (chunk: Buffer) => reader.push(chunk));
    socket.once('close', () => this.waiter?.resolve());
  }

  /** A write of frames up to cumulative count `frames` was handed to the socket. */
  wrote(frames: number): void {
    this.marks.push({ frames, at: performance.now() });
  }

  /** Resolves once `frames` are acknowledged, the socket closed, or `timeoutMs` passed. */
  waitFor(frames: number, timeoutMs: number): Promise<void> {
    if (this.acked >= frames) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.waiter = {
        frames,
        resolve: () => {
          clearTimeout(timer);
          this.waiter = null;
          resolve();
        },
      };
    });
  }

  private onAck(committed: number, reason: string | null): void {
    if (reason !== null) this.finalReason = reason;
    if (committed <= this.acked) return;
    this.acked = committed;
    const now = performance.now();
    while (this.head < this.marks.length && this.marks[this.head].frames <= committed) {
      this.latenciesMs.push(now - this.marks[this.head++].at);
    }
    if (this.waiter !== null && committed >= this.waiter.frames) this.waiter.resolve();
  }
}

/** The q-quantile (0..1) of `values` (nearest rank), or 0 when empty. */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}
