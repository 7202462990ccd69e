/**
 * The producer's TCP (or TLS) link: opens a socket per attempt, wires its events
 * (and, in ack mode, an AckReader on its input), and schedules the next
 * attempt with jittered backoff. It holds the current Connection and the
 * retry timer; the Producer decides what a close means.
 *
 *   open() --connect--> events.up(conn)
 *          --ACK-----> events.ack(conn, committed, reason)
 *          --close---> events.down(conn)  --> Producer: retry(backoff) or fail
 */
import { AckReader } from '../ack/ack-reader.js';
import { backoffDelay, type BackoffOptions } from '../retry/backoff.js';
import { connectSocket, readyEvent, type ClientTlsOptions } from './connect.js';
import { ProducerError, type ProducerErrorReason } from './errors.js';
import type { Connection } from './producer-types.js';

export interface LinkEvents {
  up(conn: Connection): void;
  ack(conn: Connection, committed: number, reason: string | null): void;
  down(conn: Connection): void;
}

export class Link {
  conn: Connection | null = null;
  attempt = 0;
  private retryTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly address: string,
    private readonly acks: boolean,
    private readonly tls: ClientTlsOptions | null,
    private readonly events: LinkEvents,
  ) {}

  /** Starts a connection attempt. */
  open(): void {
    const socket = connectSocket(this.host, this.port, this.tls);
    const conn: Connection = { socket, inFlight: new Set(), error: null, lost: 0, wasConnected: false, final: false };
    this.conn = conn;
    socket.on(readyEvent(this.tls), () => this.events.up(conn));
    socket.on('error', (err) => {
      conn.error ??= err;
    });
    socket.on('close', () => {
      if (this.conn === conn) this.conn = null;
      this.events.down(conn);
    });
    if (!this.acks) {
      socket.resume(); // a plain connection gets nothing back; reading lets us see the server's FIN
      return;
    }
    const reader = new AckReader({
      onAck: (committed, reason) => this.events.ack(conn, committed, reason),
      onProtocolError: (message) => this.breakProtocol(conn, message),
    });
    socket.on('data', (chunk: Buffer) => reader.push(chunk));
  }

  /** The server broke the ACK protocol on `conn`: drop it (the producer reconnects and resends). */
  breakProtocol(conn: Connection, message: string): void {
    conn.socket.destroy(new ProducerError('protocol', `pkt producer ${this.address}: ${message}`));
  }

  /** Schedules the next attempt; returns its delay. */
  private retry(options: BackoffOptions): number {
    this.attempt++;
    const delayMs = backoffDelay(this.attempt, options);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.open();
    }, delayMs);
    return delayMs;
  }

  /**
   * `conn` went down: schedules the next attempt (delayMs >= 0) unless
   * reconnect is disabled (delayMs -1). Either way, the error to report.
   */
  retryAfter(conn: Connection, reconnect: BackoffOptions | false, unackedFrames: number): { error: ProducerError; delayMs: number } {
    if (reconnect === false) return { error: lossError(this.address, conn, unackedFrames, 'reconnect is disabled'), delayMs: -1 };
    const delayMs = this.retry(reconnect);
    const next = `reconnecting in ${delayMs} ms (attempt ${this.attempt})`;
    return { error: lossError(this.address, conn, unackedFrames, next), delayMs };
  }

  cancelRetry(): void {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }
}

/** Why `conn` went down, as the ProducerError the producer reports (without the what-next suffix). */
export function lossError(address: string, conn: Connection, unackedFrames: number, next: string): ProducerError {
  const cause = conn.error?.message ?? 'the server closed the connection';
  const reason: ProducerErrorReason = conn.wasConnected ? 'connection_lost' : 'connect_failed';
  let message = `pkt producer ${address}: ${conn.wasConnected ? 'connection lost' : 'cannot connect'} (${cause})`;
  if (conn.lost > 0) message += `; ${conn.lost} bytes being written were dropped`;
  if (unackedFrames > 0) message += `; ${unackedFrames} unacknowledged frames will be resent`;
  return new ProducerError(reason, `${message}; ${next}`, conn.error === null ? undefined : { cause: conn.error });
}
