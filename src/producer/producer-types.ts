/** The producer's events, stats and the small bookkeeping types its state machine shares. */
import type net from 'node:net';
import type { ProducerError } from './errors.js';
import type { Chunk } from './outbound-queue.js';

export interface ProducerEvents {
  /** A connection is up (the first or a reconnect). */
  connect: [];
  /** A connection failed or broke, or the producer failed for good. Only emitted while listened to. */
  error: [ProducerError];
  /** The next connection attempt is scheduled. */
  reconnecting: [{ attempt: number; delayMs: number }];
  /** send() may go on again, after it had returned false. */
  drain: [];
  /** Ack mode: the server sent ACK + FINAL and closes this connection; unacknowledged frames go out again on the next. */
  final: [{ reason: string; committed: number }];
  /** The producer is closed; nothing more will happen. */
  close: [];
}

/** Frame counts since the producer was made. */
export interface ProducerStats {
  /** Frames given to send() (and, in ack mode, sendRaw()). */
  sent: number;
  /** Ack mode: frames a server acknowledged. */
  acked: number;
  /** Ack mode: frames written again on a new connection because no ACK covered them. */
  resent: number;
}

export interface Waiter {
  resolve(): void;
  reject(err: Error): void;
}

/** Resolves (err null) or rejects every waiter in `waiters`, emptying it. */
export function settleAll(waiters: Waiter[], err: Error | null): void {
  for (const waiter of waiters.splice(0)) {
    if (err === null) waiter.resolve();
    else waiter.reject(err);
  }
}

/** One socket's life: what it holds and what it lost. */
export interface Connection {
  readonly socket: net.Socket;
  /** Plain mode: chunks handed to socket.write whose callbacks have not run. */
  readonly inFlight: Set<Chunk>;
  error: Error | null;
  /** Plain mode: bytes whose write failed or was cut off. */
  lost: number;
  wasConnected: boolean;
  /** Ack mode: the server sent FINAL; nothing more is written here. */
  final: boolean;
}
