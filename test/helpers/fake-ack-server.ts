/**
 * A tiny PKT server for ack-mode tests: it decodes frames with the real
 * FrameDecoder, remembers each connection's frames (flags, sequence, bytes)
 * and writes ACK frames built with encodeAck, as a policy tells it to.
 */
import { once } from 'node:events';
import net from 'node:net';
import { FrameDecoder } from '../../src/frame/frame-decoder.js';
import { ackFrameLength, encodeAck } from '../../src/wire/ack.js';
import { findSequence } from '../../src/wire/sequence.js';

export interface ReceivedFrame {
  flags: number;
  /** The `sequence` extension's number, or -1. */
  sequence: number;
  bytes: Buffer;
}

export interface FakeConnection {
  socket: net.Socket;
  frames: ReceivedFrame[];
  /** Sends ACK (reason null) or ACK + FINAL for `count`. */
  ack(count: number, reason?: string | null): void;
}

export interface AckPolicy {
  /** ACK after every read with the frames received so far (default true). */
  autoAck?: boolean;
  /** Destroy the connection once it has received this many frames (after acking those before). */
  dropAfter?: number;
}

export interface FakeAckServer {
  port: number;
  connections: FakeConnection[];
  /** Every frame received on every connection, in arrival order. */
  all(): ReceivedFrame[];
  /** Resolves when `test()` is true, checked after every read. */
  until(test: () => boolean): Promise<void>;
  close(): Promise<void>;
}

export async function startFakeAckServer(policy: (index: number) => AckPolicy = () => ({})): Promise<FakeAckServer> {
  const connections: FakeConnection[] = [];
  const waiters: { test: () => boolean; resolve: () => void }[] = [];
  const check = (): void => {
    for (const w of waiters.splice(0)) if (w.test()) w.resolve(); else waiters.push(w);
  };
  const server = net.createServer((socket) => {
    const { autoAck = true, dropAfter = Infinity } = policy(connections.length);
    const decoder = new FrameDecoder({ maxPayloadBytes: 1 << 24, maxHeaderBytes: 4096 });
    let rest: Buffer | null = null;
    let dropped = false;
    const conn: FakeConnection = {
      socket,
      frames: [],
      ack(count, reason = null) {
        const out = Buffer.alloc(ackFrameLength(reason));
        encodeAck(count, reason, Date.now() * 1000, out);
        socket.write(out);
      },
    };
    connections.push(conn);
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      if (dropped) return;
      const buf = rest === null ? chunk : Buffer.concat([rest, chunk]);
      const used = decoder.decode(buf, 0, buf.length, {
        onFrame(view) {
          if (dropped) return;
          conn.frames.push({ flags: view.flags, sequence: findSequence(view.extensions())?.sequence ?? -1, bytes: Buffer.from(view.frame) });
          if (conn.frames.length >= dropAfter) dropped = true;
        },
      });
      if (decoder.error !== null) throw new Error(`fake server: ${decoder.error}`);
      rest = used === buf.length ? null : Buffer.from(buf.subarray(used));
      if (dropped) {
        // Ack all but the last 3, then vanish (once the ACK is out): those must come again.
        const out = Buffer.alloc(ackFrameLength(null));
        encodeAck(Math.max(0, conn.frames.length - 3), null, Date.now() * 1000, out);
        socket.write(out, () => socket.destroy());
      } else if (autoAck) conn.ack(conn.frames.length);
      check();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as net.AddressInfo).port,
    connections,
    all: () => connections.flatMap((c) => c.frames),
    until: (test) =>
      new Promise((resolve) => {
        if (test()) resolve();
        else waiters.push({ test, resolve });
      }),
    close: async () => {
      for (const c of connections) c.socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
