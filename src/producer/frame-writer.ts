/**
 * Moves the producer's bytes onto a socket: the queue's chunks as one
 * corked write per turn; in ack mode it also keeps them in the AckWindow
 * until ACKs cover them, and starts each new connection with the window.
 *
 *   plain:  queue --take--> socket.write(cb) --cb--> release (slab reusable)
 *   acks:   queue --take--> window + socket.write --ACK--> window.ack --> release
 *           connect: window.rewind() --> socket.write (resend, in order) first
 *
 * Owner: the Producer, which owns the state machine; this class owns no
 * socket, only what each Connection holds. When a connection closes,
 * plain mode loses (and counts) what was in flight; ack mode loses nothing.
 */
import type { AckWindow } from './ack-window.js';
import type { Chunk, OutboundQueue } from './outbound-queue.js';
import type { Connection } from './producer-types.js';

export class FrameWriter {
  constructor(
    readonly queue: OutboundQueue,
    readonly window: AckWindow | null,
    /** Bytes were released (written, or acknowledged). */
    private readonly onRelease: () => void,
  ) {}

  /** A connection is up: in ack mode it first resends every frame not acknowledged. */
  start(conn: Connection): void {
    const resend = this.window?.rewind() ?? [];
    if (resend.length > 0) {
      conn.socket.cork();
      for (const bytes of resend) conn.socket.write(bytes);
      conn.socket.uncork();
    }
    this.writeOut(conn);
  }

  /** Everything queued goes out as one corked (vectored) write. */
  writeOut(conn: Connection): void {
    const { socket } = conn;
    if (socket.destroyed || socket.writableEnded || conn.final) return;
    const chunks = this.queue.take();
    if (chunks.length === 0) return;
    const window = this.window;
    socket.cork();
    for (const chunk of chunks) {
      if (window !== null) {
        // Kept until an ACK covers it, whatever the write does.
        window.written(chunk);
        socket.write(chunk.bytes);
        continue;
      }
      conn.inFlight.add(chunk);
      socket.write(chunk.bytes, (err) => this.onWritten(conn, chunk, err));
    }
    socket.uncork();
  }

  /**
   * The server acknowledged `committed` frames of `conn`. Returns the frames
   * newly acknowledged, or -1 for a count past what was sent on it.
   */
  ack(_conn: Connection, committed: number): number {
    const acked = this.window?.ack(committed) ?? 0;
    if (acked > 0) this.onRelease();
    return acked;
  }

  /** The connection closed: plain mode drops (and returns the bytes of) what it still held. */
  closed(conn: Connection): number {
    for (const chunk of conn.inFlight) {
      conn.lost += chunk.bytes.length;
      this.queue.release(chunk);
    }
    conn.inFlight.clear();
    return conn.lost;
  }

  /** Drops everything not delivered (close or failure); returns the bytes dropped. */
  discard(): number {
    return (this.window?.discard() ?? 0) + this.queue.discard();
  }

  private onWritten(conn: Connection, chunk: Chunk, err: Error | null | undefined): void {
    // Already released if the socket closed first.
    if (!conn.inFlight.delete(chunk)) return;
    // A destroyed socket completes its cancelled write without an error.
    if (err || conn.socket.destroyed) conn.lost += chunk.bytes.length;
    this.queue.release(chunk);
    this.onRelease();
  }
}
