/**
 * Ack mode through a real server (src/socket/connection.ts with
 * src/ack/ack-session.ts): the count, and ACK + FINAL with the right
 * reason before every close the server starts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { commitTrackerOf } from '../../src/handlers/commit-tracker.js';
import type { ConnectionInfo, Packet, PacketHandler } from '../../src/handlers/types.js';
import { ackFrame, AckClient } from '../helpers/ack-client.js';
import { badCases } from '../helpers/bad-frames.js';
import { connect, httpGet, Recorder, startServer, until, type LiveServer } from '../helpers/live-server.js';

let live: LiveServer | null = null;
afterEach(async () => {
  await live?.stop();
  live = null;
});

const frames = (from: number, n: number, flags?: number): Buffer[] => Array.from({ length: n }, (_, k) => ackFrame(from + k, 32, flags));

describe('ack mode in the server', () => {
  it('counts from the first frame, including those before the first ACK_REQUEST', async () => {
    const recorder = new Recorder();
    live = await startServer({}, { handlers: [{ name: 'rec', handler: recorder }] });
    const client = await AckClient.connect(live.tcpPort);
    client.write(frames(0, 3, 0)); // no ACK_REQUEST yet
    client.write(frames(3, 2));
    await client.waitForCount(5);
    expect(client.committed).toBe(5);
    const metrics = (await httpGet(live.httpPort, '/metrics')).body;
    expect(metrics).toMatch(/^pkt_ingest_connections_ack_mode 1$/m);
    expect(Number(/^pkt_ingest_acks_total (\d+)$/m.exec(metrics)?.[1])).toBe(client.acks.length);
    expect(Number(/^pkt_ingest_commit_seconds_count (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);
    const status = JSON.parse((await httpGet(live.httpPort, '/status')).body) as { acks: unknown; commit: { p99Seconds: number } | null };
    expect(status.acks).toEqual({ sent: client.acks.length, connectionsAckMode: 1 });
    expect(status.commit?.p99Seconds).toBeGreaterThanOrEqual(0);
    client.socket.destroy();
    await until(() => live?.server.stats.connectionsAckMode === 0, 5000, 'the ack-mode gauge back at 0');
  });

  it('writes nothing to a plain connection', async () => {
    const recorder = new Recorder();
    live = await startServer({}, { handlers: [{ name: 'rec', handler: recorder }] });
    const plain = await connect(live.tcpPort);
    let received = 0;
    plain.on('data', (b: Buffer) => (received += b.length));
    plain.write(Buffer.concat(frames(0, 10, 0)));
    await recorder.waitFor(10);
    // An ack-mode connection opened after it gets its ACK: the server had its chance to write to both.
    const acked = await AckClient.connect(live.tcpPort);
    acked.write(frames(0, 1));
    await acked.waitForCount(1);
    expect(received).toBe(0);
    expect(live.server.stats.connectionsAckMode).toBe(1);
    plain.destroy();
    acked.socket.destroy();
  });

  it.each([
    ['resync', 'drop'],
    ['close', 'close'],
  ] as const)('ends with FINAL <reason> on every frame error reason (onFrameError %s, onChecksumError %s)', async (onFrameError, onChecksumError) => {
    live = await startServer({ onFrameError, onChecksumError, limits: { maxPayloadBytes: 1000, maxHeaderBytes: 256 } });
    const seen = new Set<string>();
    for (const bad of badCases()) {
      if (bad.reason === 'truncated') continue; // end of stream: the producer closed, nothing can be written back
      const client = await AckClient.connect(live.tcpPort);
      client.write(frames(0, 2));
      await client.waitForCount(2);
      client.write(bad.bad);
      client.write(frames(2, 2)); // never counted: the connection ends at the bad frame
      const final = await client.waitForFinal();
      expect(final).toEqual({ committed: 2, reason: bad.reason });
      await client.closed;
      seen.add(bad.reason);
    }
    expect(seen.size).toBeGreaterThanOrEqual(8);
  });

  it.each([true, false])('closes on a frame error found while the backlog is pumped after a hold settled (ack mode %s)', async (acks) => {
    // A small ring, a handler that holds every frame a turn: the bad frame is decoded
    // from the backlog when a hold settles, outside any read.
    const holding: PacketHandler = { onPacket: () => new Promise<void>((r) => setImmediate(r)) };
    live = await startServer({ tcp: { ringBytes: 4096 }, onFrameError: 'close' }, { handlers: [{ name: 'hold', handler: holding }] });
    const client = await AckClient.connect(live.tcpPort);
    const good = Array.from({ length: 40 }, (_, i) => ackFrame(i, 900, acks ? 0x10 : 0));
    const bad = Buffer.from(good[0]);
    bad[0] = 0x51; // bad_magic
    client.write(Buffer.concat([...good, bad]));
    // Before the fix the socket stayed paused and open.
    await until(() => client.socket.destroyed, 5000, 'the server to close the connection');
    expect(live.server.stats.frameErrors.bad_magic).toBe(1);
    if (acks) {
      expect(client.final?.reason).toBe('bad_magic');
      expect(client.final?.committed).toBeLessThanOrEqual(40); // what was committed when it failed
    } else expect(client.acks).toEqual([]);
  });

  it('ends with FINAL handler_error when a handler fails a frame, and does not acknowledge it', async () => {
    let n = 0;
    const failing: PacketHandler = {
      onPacket: () => (++n === 3 ? Promise.reject(new Error('disk on fire')) : undefined),
    };
    live = await startServer({}, { handlers: [{ name: 'failing', handler: failing }] });
    const client = await AckClient.connect(live.tcpPort);
    client.write(frames(0, 2));
    await client.waitForCount(2);
    client.write(frames(2, 3));
    const final = await client.waitForFinal();
    expect(final).toEqual({ committed: 2, reason: 'handler_error' });
    await client.closed;
    expect(live.server.stats.handlerErrors.get('failing')).toBe(1);
  });

  it('ends with FINAL handler_error when a handler holds a frame past limits.handlerTimeoutMs', async () => {
    let n = 0;
    const stuck: PacketHandler = { onPacket: () => (++n === 3 ? new Promise<void>(() => {}) : undefined) };
    live = await startServer({ limits: { handlerTimeoutMs: 200 } }, { handlers: [{ name: 'stuck', handler: stuck }] });
    const client = await AckClient.connect(live.tcpPort);
    client.write(frames(0, 2));
    await client.waitForCount(2);
    client.write(frames(2, 3));
    expect(await client.waitForFinal(5000)).toEqual({ committed: 2, reason: 'handler_error' });
    await client.closed;
    expect(live.server.stats.handlerErrors.get('stuck')).toBe(1);
  });

  it('ends with FINAL idle_timeout after tcp.idleTimeoutMs of quiet', async () => {
    live = await startServer({ tcp: { idleTimeoutMs: 200 } });
    const client = await AckClient.connect(live.tcpPort);
    client.write(frames(0, 4));
    const final = await client.waitForFinal(3000);
    expect(final).toEqual({ committed: 4, reason: 'idle_timeout' });
    await client.closed;
  });

  it('on a forced close (a second signal) ends with FINAL server_error', async () => {
    live = await startServer({});
    const client = await AckClient.connect(live.tcpPort);
    client.write(frames(0, 3));
    await client.waitForCount(3);
    live.server.tcp?.close();
    expect(await client.waitForFinal()).toEqual({ committed: 3, reason: 'server_error' });
  });

  it('on shutdown sends FINAL draining only after the last delivered frame committed', async () => {
    // A 'deferred' handler that commits only when told: the drain must wait for it.
    const delivered: Array<{ conn: ConnectionInfo; count: number }> = [];
    const late: PacketHandler & { commitMode: 'deferred' } = {
      commitMode: 'deferred',
      onPacket: (_p: Packet, conn: ConnectionInfo) => void delivered.push({ conn, count: conn.packets }),
    };
    // What HandlerContext.commit does for handler 0 (embedded handlers get no context).
    const commit = (conn: ConnectionInfo, count: number): void => commitTrackerOf(conn)?.commit(0, count);
    live = await startServer({ shutdown: { drainTimeoutMs: 5000 } }, { handlers: [{ name: 'late', handler: late }] });
    const client = await AckClient.connect(live.tcpPort);
    client.write(frames(0, 5));
    await until(() => delivered.length === 5, 5000, 'five frames delivered');
    commit(delivered[1].conn, 2);
    await client.waitForCount(2);
    const stopping = live.server.shutdown();
    await until(() => live?.server.tcp?.draining === true, 5000, 'the drain to begin');
    commit(delivered[4].conn, 5);
    // One FINAL per connection, and commits after it are ignored: a FINAL sent
    // before this last commit would carry 2.
    expect(await client.waitForFinal()).toEqual({ committed: 5, reason: 'draining' });
    expect(client.acks.filter((a) => a.reason !== null)).toHaveLength(1);
    await stopping;
    live = null;
  });

  it('coalesces ACKs: far fewer ACK frames than frames committed', async () => {
    live = await startServer({});
    const client = await AckClient.connect(live.tcpPort);
    const total = 20_000;
    const batch = Buffer.concat(frames(0, 100));
    for (let sent = 0; sent < total; sent += 100) {
      if (!client.socket.write(batch)) await new Promise((r) => client.socket.once('drain', r));
      await new Promise((r) => setImmediate(r));
    }
    await client.waitForCount(total);
    const acks = live.server.stats.acksSent;
    expect(acks).toBe(client.acks.length);
    expect(acks).toBeLessThan(total / 20);
    client.socket.destroy();
  });

  it('a producer that never reads costs one ACK in flight, however many frames commit', async () => {
    live = await startServer({});
    const client = await AckClient.connect(live.tcpPort);
    client.write(frames(0, 1, 0)); // a plain frame first: the server-side socket exists, ack mode not yet
    await until(() => live?.server.stats.packets === 1, 5000, 'the first frame');
    // The kernel buffers megabytes on loopback before a write stalls: stand in for a full
    // buffer by holding the server socket's write callbacks (what a peer that never reads causes).
    const serverSocket = [...(live.server.tcp?.connections ?? [])][0].socket;
    const written: Buffer[] = [];
    const held: Array<(error?: Error | null) => void> = [];
    serverSocket.write = ((chunk: Buffer, callback: (error?: Error | null) => void) => {
      written.push(Buffer.from(chunk));
      held.push(callback);
      return false;
    }) as typeof serverSocket.write;
    const total = 2001;
    for (let sent = 1; sent < total; sent += 100) {
      client.write(frames(sent, 100));
      await until(() => live?.server.stats.packets === sent + 100, 5000, `${sent + 100} frames`);
    }
    const conn = [...(live.server.tcp?.connections ?? [])][0];
    expect(commitTrackerOf(conn)?.committed).toBe(total); // every frame committed, in 20 reads ...
    expect(written).toHaveLength(1); // ... but one ACK handed to the socket, its write never done
    expect(live.server.stats.acksSent).toBe(1);
    held[0]();
    await until(() => written.length === 2, 5000, 'the next ACK');
    expect(Number(written[1].readBigUInt64LE(26))).toBe(total); // the count, u64 after the 26-byte header
    client.socket.destroy();
  });
});
