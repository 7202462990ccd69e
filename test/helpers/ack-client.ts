/**
 * A raw producer socket for ack-mode tests: writes whatever bytes a test
 * gives it and records every ACK the server writes back (decoded with the
 * client's AckReader), with waits on a count, a FINAL, or the close.
 */
import net from 'node:net';
import { once } from 'node:events';
import { AckReader } from '../../src/ack/ack-reader.js';
import { encodeFrame } from '../../src/wire/encode.js';

export const ACK_REQUEST = 0x10;

/** A valid frame asking for acknowledgements (flags 0x10 unless given). */
export function ackFrame(i: number, payloadBytes = 32, flags = ACK_REQUEST): Buffer {
  return encodeFrame({ sourceId: 'ack', destId: 'test', payload: Buffer.alloc(payloadBytes, i & 0xff), timestamp: i + 1, flags });
}

export interface SeenAck {
  committed: number;
  reason: string | null;
}

export class AckClient {
  readonly acks: SeenAck[] = [];
  protocolError: string | null = null;
  readonly closed: Promise<void>;
  private waiters: Array<() => void> = [];

  private constructor(readonly socket: net.Socket) {
    const reader = new AckReader({
      onAck: (committed, reason) => {
        this.acks.push({ committed, reason });
        this.wake();
      },
      onProtocolError: (message) => {
        this.protocolError = message;
      },
    });
    socket.on('data', (chunk: Buffer) => reader.push(chunk));
    socket.on('error', () => {}); // resets after a FINAL are expected
    this.closed = once(socket, 'close').then(() => this.wake());
  }

  static async connect(port: number): Promise<AckClient> {
    const socket = net.connect(port, '127.0.0.1');
    await once(socket, 'connect');
    return new AckClient(socket);
  }

  /** The highest count acknowledged so far. */
  get committed(): number {
    return this.acks.length === 0 ? 0 : this.acks[this.acks.length - 1].committed;
  }

  get final(): SeenAck | null {
    const last = this.acks[this.acks.length - 1];
    return last !== undefined && last.reason !== null ? last : null;
  }

  write(data: Buffer | Buffer[]): void {
    for (const b of Array.isArray(data) ? data : [data]) this.socket.write(b);
  }

  /** Resolves once an ACK covers `count` frames; rejects on close or after `ms`. */
  waitForCount(count: number, ms = 5000): Promise<void> {
    return this.waitUntil(() => this.committed >= count, ms, `an ACK for ${count} (last ${this.committed})`);
  }

  /** Resolves with the FINAL ACK once it arrived; rejects if the socket closes without one. */
  async waitForFinal(ms = 5000): Promise<SeenAck> {
    await this.waitUntil(() => this.final !== null, ms, 'ACK + FINAL');
    return this.final as SeenAck;
  }

  private waitUntil(done: () => boolean, ms: number, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => finish(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
      const check = (): void => {
        if (done()) finish(null);
        else if (this.socket.destroyed) finish(new Error(`closed before ${what}`));
        else this.waiters.push(check);
      };
      const finish = (error: Error | null): void => {
        clearTimeout(timer);
        if (error === null) resolve();
        else reject(error);
      };
      check();
    });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
