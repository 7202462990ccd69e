/**
 * examples/python/producer.py, an implementation of docs/protocol.md that
 * shares no code with the server: against a live server with a capture
 * handler (the capture must hold exactly the frames computed here from the
 * script's documented derivation), and with --acks against a small fake
 * server written here that acknowledges per docs/protocol.md.
 * Needs python3 (skipped where it is missing, except in CI).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { FrameDecoder, type FrameSink } from '../../src/frame/frame-decoder.js';
import type { PacketView } from '../../src/frame/packet-view.js';
import type { OwnedPacket } from '../../src/handlers/types.js';
import { encodeFrame } from '../../src/wire/encode.js';
import { ackFrame } from '../helpers/ack-frames.js';
import { startServer, type LiveServer } from '../helpers/live-server.js';
import { runPython, skipWithoutPython } from '../helpers/python.js';

const SCRIPT = fileURLToPath(new URL('../../examples/python/producer.py', import.meta.url));
const SEED = 7;
const T0 = 1_700_000_000_000_000n;


const sha256 = (s: string) => createHash('sha256').update(s).digest();

/** Frame i as the script documents it: sha256 payload blocks, timestamp T0 + i, and with acks the sequence extension. */
function expectedFrame(i: number, o: { payloadBytes: number; source: string; dest: string; acks: boolean }): Buffer {
  const blocks: Buffer[] = [];
  for (let b = 0; blocks.length * 32 < o.payloadBytes; b++) blocks.push(sha256(`${SEED}/${i}/${b}`));
  const payload = Buffer.concat(blocks).subarray(0, o.payloadBytes);
  const seq = Buffer.alloc(8);
  seq.writeBigUInt64LE(BigInt(i));
  return encodeFrame({
    sourceId: o.source,
    destId: o.dest,
    payload,
    timestamp: T0 + BigInt(i),
    flags: o.acks ? 0x10 : 0,
    extensions: o.acks ? [{ type: 5, value: Buffer.concat([sha256(`producer/${SEED}`).subarray(0, 16), seq]) }] : [],
  });
}

const deterministic = ['--seed', String(SEED), '--timestamp-us', String(T0)];

let live: LiveServer | null = null;
afterEach(async () => {
  await live?.stop();
  live = null;
});

describe.skipIf(skipWithoutPython)('examples/python/producer.py', () => {
  it('fills a live server capture with exactly the frames it documents, byte for byte', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pkt-py-'));
    const capture = path.join(dir, 'capture.pkt');
    live = await startServer({ handlers: [{ type: 'capture', path: capture, fsync: 'never' }] });
    const o = { payloadBytes: 100, source: 'py-é', dest: 'sink', acks: false };
    const count = 300;
    const run = await runPython([
      SCRIPT, '--host', '127.0.0.1', '--port', String(live.tcpPort), '--count', String(count),
      '--payload-bytes', String(o.payloadBytes), '--source', o.source, '--dest', o.dest, ...deterministic,
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const expected = Buffer.concat(Array.from({ length: count }, (_, i) => expectedFrame(i, o)));
    expect(run.stdout).toContain(`sent ${count} frames (${expected.length} bytes)`);
    await live.stop(); // flushes the capture
    const written = fs.readFileSync(capture);
    expect(written.length).toBe(expected.length);
    expect(written.equals(expected)).toBe(true);
    expect(live.server.stats.frameErrors).toMatchObject({ bad_magic: 0, crc_mismatch: 0, truncated: 0 });
  });

  it('--acks against a live server: waits for every ACK, prints sent and acknowledged, exits 0; the capture holds every frame', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pkt-py-'));
    const capture = path.join(dir, 'capture.pkt');
    live = await startServer({ handlers: [{ type: 'capture', path: capture, fsync: 'interval', fsyncIntervalMs: 50 }] });
    const o = { payloadBytes: 64, source: 'py', dest: 'sink', acks: true };
    const count = 500;
    const run = await runPython([
      SCRIPT, '--host', '127.0.0.1', '--port', String(live.tcpPort), '--count', String(count),
      '--payload-bytes', String(o.payloadBytes), '--source', o.source, '--dest', o.dest, '--acks', ...deterministic,
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`sent ${count} frames`);
    expect(run.stdout).toContain(`acknowledged ${count} of ${count} frames`);
    expect(live.server.stats.acksSent).toBeGreaterThan(0);
    await live.stop();
    const expected = Buffer.concat(Array.from({ length: count }, (_, i) => expectedFrame(i, o)));
    expect(fs.readFileSync(capture).equals(expected)).toBe(true); // acknowledged, so already synced; and byte-exact
  });

  it('answers a usage error with exit 2 and one line naming the flag', async () => {
    const run = await runPython([SCRIPT, '--port', '70000', '--count', '1']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--port: 70000 is out of range');
  });

  it('fails with exit 1 and a clear line when nothing listens', async () => {
    const server = net.createServer().listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as net.AddressInfo).port;
    await new Promise((r) => server.close(r));
    const run = await runPython([SCRIPT, '--port', String(port), '--count', '1']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/cannot connect to 127\.0\.0\.1:\d+: .*check --host and --port/);
  });
});

/** One connection to the fake server: the frames decoded from it, in order. */
interface FakeConnection {
  index: number;
  frames: OwnedPacket[];
  socket: net.Socket;
  /** The count last acknowledged on this connection. */
  acked: number;
}

/**
 * A server that decodes PKT frames with the project's decoder and lets
 * `onFrames` answer after each read (write ACKs, close).
 */
async function fakeAckServer(onFrames: (conn: FakeConnection) => void) {
  const connections: FakeConnection[] = [];
  const server = net.createServer((socket) => {
    const conn: FakeConnection = { index: connections.length, frames: [], socket, acked: 0 };
    connections.push(conn);
    const decoder = new FrameDecoder({ maxPayloadBytes: 1 << 20, maxHeaderBytes: 4096 });
    const sink: FrameSink = { onFrame: (p: PacketView) => void conn.frames.push(p.copy()) };
    let pending = Buffer.alloc(0);
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      pending = pending.subarray(decoder.decode(pending, 0, pending.length, sink));
      if (decoder.error !== null) throw new Error(`the producer sent an invalid frame: ${decoder.error}`);
      if (!socket.destroyed && !socket.writableEnded) onFrames(conn);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    connections,
    close: () => {
      for (const c of connections) c.socket.destroy();
      return new Promise((r) => server.close(r));
    },
  };
}

/** Acknowledge what was decoded, but only in steps of `step` frames (and the last one): coalescing. */
const ackInSteps = (step: number, total: number) => (conn: FakeConnection) => {
  const n = conn.frames.length;
  const target = n === total ? n : n - (n % step);
  if (target > conn.acked) {
    conn.acked = target;
    conn.socket.write(ackFrame(target));
  }
};

/** Sequence numbers of the frames a connection received (from their type-5 extension). */
const sequences = (conn: FakeConnection) =>
  conn.frames.map((f) => Number(Buffer.from(f.extensions.find((e) => e.type === 5)!.value).readBigUInt64LE(16)));

describe.skipIf(skipWithoutPython)('examples/python/producer.py --acks, against a fake acknowledging server', () => {
  const o = { payloadBytes: 40, source: 'py', dest: 'acks', acks: true };
  const args = (port: number, count: number, extra: string[] = []) => [
    SCRIPT, '--port', String(port), '--count', String(count), '--payload-bytes', String(o.payloadBytes),
    '--source', o.source, '--dest', o.dest, '--acks', '--timeout', '5', ...deterministic, ...extra,
  ];

  it('sets ACK_REQUEST and the sequence extension, and exits 0 once coalesced ACKs cover every frame', async () => {
    const count = 23;
    const fake = await fakeAckServer(ackInSteps(5, count));
    try {
      const run = await runPython(args(fake.port, count));
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`acknowledged ${count} of ${count} frames`);
      expect(run.stdout).toContain(`producer id ${sha256(`producer/${SEED}`).subarray(0, 16).toString('hex')}`);
      expect(fake.connections).toHaveLength(1);
      const got = fake.connections[0].frames.map((f) => f.frame);
      expect(Buffer.concat(got).equals(Buffer.concat(Array.from({ length: count }, (_, i) => expectedFrame(i, o))))).toBe(true);
    } finally {
      await fake.close();
    }
  });

  it('does not finish before the last frame is acknowledged: it times out with a clear error', async () => {
    const count = 10;
    // Acknowledges all but the last frame.
    const fake = await fakeAckServer((conn) => {
      const target = Math.min(conn.frames.length, count - 1);
      if (target > conn.acked) conn.socket.write(ackFrame((conn.acked = target)));
    });
    try {
      const run = await runPython(args(fake.port, count, ['--timeout', '1']));
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`timed out after 1.0 s waiting for acknowledgements: ${count - 1} of ${count} frames acknowledged`);
      expect(fake.connections[0].frames).toHaveLength(count); // it did send them all
    } finally {
      await fake.close();
    }
  });

  it('prints the reason of an ACK + FINAL and exits 1', async () => {
    const fake = await fakeAckServer((conn) => {
      if (conn.frames.length >= 3) conn.socket.end(ackFrame(3, { reason: 'draining' }));
    });
    try {
      const run = await runPython(args(fake.port, 8));
      expect(run.code).toBe(1);
      expect(run.stderr).toContain("FINAL, reason 'draining': 3 of 8 frames acknowledged, 5 sent but not acknowledged");
      expect(run.stdout).toBe('');
    } finally {
      await fake.close();
    }
  });

  it('after a lost connection, resends in order every frame no ACK covered, counting from 1 again', async () => {
    const count = 10;
    const fake = await fakeAckServer((conn) => {
      if (conn.index === 0) {
        // First connection: acknowledge 4 once all 10 are in, then drop it without FINAL.
        if (conn.frames.length === count) conn.socket.end(ackFrame(4));
        return;
      }
      ackInSteps(1, count - 4)(conn);
    });
    try {
      const run = await runPython(args(fake.port, count));
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`acknowledged ${count} of ${count} frames`);
      expect(run.stdout).toContain('1 reconnects');
      expect(run.stderr).toContain('reconnecting to resend 6 unacknowledged frames');
      expect(fake.connections).toHaveLength(2);
      expect(sequences(fake.connections[0])).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(sequences(fake.connections[1])).toEqual([4, 5, 6, 7, 8, 9]);
      // A resent frame is the same frame, byte for byte.
      expect(fake.connections[1].frames[0].frame.equals(fake.connections[0].frames[4].frame)).toBe(true);
    } finally {
      await fake.close();
    }
  });

  it('rejects an ACK that covers more frames than were sent', async () => {
    const fake = await fakeAckServer((conn) => {
      if (conn.acked === 0) conn.socket.write(ackFrame((conn.acked = 1000)));
    });
    try {
      const run = await runPython(args(fake.port, 5));
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('an ACK covers 1000 frames, but only 5 were sent on this connection');
    } finally {
      await fake.close();
    }
  });
});
