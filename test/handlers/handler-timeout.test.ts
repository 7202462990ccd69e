/**
 * limits.handlerTimeoutMs (src/handlers/handler-timeout.ts) against live
 * servers on loopback: a stuck hold is counted against the handler that
 * holds it, its connection closes (even a paused one whose producer already
 * sent FIN), its ring stays reserved until the late promise settles and is
 * never lent to anyone else meanwhile; a never-settling module handler under
 * a stream of short-lived producers keeps connections, descriptors and ring
 * bytes bounded.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConnectionInfo, Packet, PacketHandler } from '../../src/handlers/types.js';
import { encodeFrame } from '../../src/wire/encode.js';
import { startChild, tempDir, type ChildServer } from '../helpers/child-server.js';
import { connect, Recorder, sendAndClose, startServer, until, type LiveServer } from '../helpers/live-server.js';

const frame = (i: number, payload = 100): Buffer =>
  encodeFrame({ sourceId: 'timeout', destId: 'test', payload: Buffer.alloc(payload, i & 0xff), timestamp: i + 1 });

let live: LiveServer | null = null;
let child: ChildServer | null = null;
afterEach(async () => {
  await live?.stop();
  live = null;
  if (child !== null && child.child.exitCode === null) {
    child.child.kill('SIGKILL');
    await child.exited;
  }
  child = null;
});

/** Holds the packets of connection 1 until release(); settles every other connection's at once. */
class FirstConnectionStuck implements PacketHandler {
  held: Array<{ packet: Packet; expected: Buffer; resolve: () => void }> = [];
  onPacket(packet: Packet, conn: ConnectionInfo): void | Promise<void> {
    if (conn.id !== 1) return;
    return new Promise((resolve) => this.held.push({ packet, expected: Buffer.from(packet.frame), resolve }));
  }
}

function closedByServer(socket: net.Socket): Promise<unknown> {
  socket.on('error', () => {});
  socket.resume();
  // Not events.once: it rejects on 'error', and a refused connection may be reset.
  return socket.closed ? Promise.resolve() : new Promise((resolve) => socket.once('close', resolve));
}

describe('limits.handlerTimeoutMs', () => {
  it('counts the holding handler only, closes the connection, and keeps its ring reserved (never reused) until the late settle', async () => {
    const stuck = new FirstConnectionStuck();
    const rec = new Recorder();
    live = await startServer(
      { limits: { handlerTimeoutMs: 300 }, tcp: { ringBytes: 8192 } },
      { handlers: [{ name: 'rec', handler: rec }, { name: 'stuck', handler: stuck }] },
    );
    const { stats } = live.server;
    const pool = live.server.tcp!.pool;
    const first = await connect(live.tcpPort);
    const firstClosed = closedByServer(first);
    const started = Date.now();
    first.write(Buffer.concat([frame(0), frame(1), frame(2)]));
    await firstClosed;
    const closedAfter = Date.now() - started;
    expect(closedAfter, 'not before the limit').toBeGreaterThanOrEqual(300);
    expect(stats.handlerErrors.get('stuck')).toBe(1);
    expect(stats.handlerErrors.get('rec')).toBe(0);
    await until(() => stats.connectionsActive === 0, 5000, 'the connection finished');
    expect(stats.ringBytes, 'the held frames stay reserved').toBe(3 * frame(0).length);
    expect(pool.inUse).toBe(1);

    // Meanwhile another producer fills rings: none of them is the stuck one.
    const more = Array.from({ length: 200 }, (_, i) => frame(10 + i, 300));
    await sendAndClose(await connect(live.tcpPort), more);
    await rec.waitFor(3 + 200);
    expect(rec.all.slice(3).map((p) => p.frame)).toEqual(more);
    expect(stuck.held.length).toBe(3);
    for (const h of stuck.held) expect(h.packet.frame.equals(h.expected), 'held view still reads its own bytes').toBe(true);

    // The late settle gives the ring back, once, and nothing else moves.
    for (const h of stuck.held.splice(0)) h.resolve();
    await until(() => stats.ringBytes === 0 && pool.inUse === 0, 5000, 'ring returned after the late settle');
    expect(stats.handlerErrors.get('stuck')).toBe(1);
    process.stdout.write(`handler timeout: connection closed ${closedAfter} ms after its first held packet (limit 300 ms)\n`);
  });

  for (const readMode of ['auto', 'data'] as const) {
  it(`ends a paused connection whose producer already closed (no CLOSE-WAIT), dropping only what was never delivered (${readMode === 'auto' ? 'onread' : "'data'"} path)`, async () => {
    const never: PacketHandler = { onPacket: () => new Promise<void>(() => {}) };
    live = await startServer({ limits: { handlerTimeoutMs: 200 }, tcp: { ringBytes: 4096 } }, { handlers: [{ name: 'never', handler: never }], readMode });
    const { stats } = live.server;
    const socket = await connect(live.tcpPort);
    const closed = closedByServer(socket);
    // 64 KiB: far more than the ring; the server pauses, then our FIN arrives behind the unread bytes.
    socket.end(Buffer.concat(Array.from({ length: 160 }, (_, i) => frame(i, 300))));
    await until(() => [...live!.server.tcp!.connections].some((c) => c.paused), 5000, 'the connection paused');
    await closed;
    await until(() => stats.connectionsActive === 0, 5000, 'the connection finished');
    expect(stats.handlerErrors.get('never')).toBe(1);
    expect(stats.packets, 'what was delivered stays counted').toBeGreaterThan(0);
    expect(stats.packets).toBeLessThan(160);
    expect(stats.ringBytes, 'at most the ring').toBeLessThanOrEqual(4096);
  });
  }
});

describe('a never-settling module handler and a stream of short-lived producers (child server)', () => {
  const pid = (): number => child!.child.pid as number;
  const fds = (): number => fs.readdirSync(`/proc/${pid()}/fd`).length;
  async function metric(series: string): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${child!.httpPort}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    if (line === undefined) throw new Error(`no ${series}`);
    return Number(line.slice(series.length + 1));
  }

  it('keeps connections, descriptors and ring bytes bounded: stuck rings count against maxConnections', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'never.mjs'), 'export default () => ({ onPacket: () => new Promise(() => {}) });\n');
    const MAX = 10;
    const RING = 8192;
    child = await startChild(
      {
        tcp: { host: '127.0.0.1', port: 0, maxConnections: MAX, ringBytes: RING },
        limits: { handlerTimeoutMs: 200 },
        handlers: [{ type: 'module', name: 'never', path: 'never.mjs' }],
        log: { level: 'error' },
      },
      dir,
    );
    const fdsBefore = fds();
    const PRODUCERS = 40; // rounds of short-lived producers, one at a time: a bounded loop
    let maxActive = 0;
    let maxRing = 0;
    for (let i = 0; i < PRODUCERS; i++) {
      const socket = net.connect(child.tcpPort, '127.0.0.1');
      const closed = closedByServer(socket);
      socket.end( // queued until connected; a refused one may be reset before that
        Buffer.concat([frame(i), frame(i + 1)]));
      await closed; // by the timeout, or at once when over maxConnections
      maxActive = Math.max(maxActive, await metric('pkt_ingest_connections_active'));
      maxRing = Math.max(maxRing, await metric('pkt_ingest_ring_bytes'));
    }
    // The last admitted producers' holds time out after they closed.
    const deadline = Date.now() + 5000;
    while ((await metric('pkt_ingest_handler_errors_total{handler="never"}')) < MAX && Date.now() < deadline) await sleep(20);
    const errors = await metric('pkt_ingest_handler_errors_total{handler="never"}');
    const rejected = await metric('pkt_ingest_connections_rejected_total{reason="max_connections"}');
    expect(errors, 'every admitted producer timed out once').toBe(MAX);
    expect(rejected, 'the rest were refused while the stuck rings held every slot').toBe(PRODUCERS - MAX);
    expect(maxActive).toBeLessThanOrEqual(1);
    expect(maxRing, 'ring bytes bounded by maxConnections rings').toBeLessThanOrEqual(MAX * RING);
    await until(() => fds() <= fdsBefore + 3, 5000, 'descriptors back near the baseline');
    expect((await fetch(`http://127.0.0.1:${child.httpPort}/healthz`)).status).toBe(200);
    // Every slot is held by a stuck handler: not ready (a balancer sends producers elsewhere), still alive.
    const ready = await fetch(`http://127.0.0.1:${child.httpPort}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { reason: string }).reason).toContain('past limits.handlerTimeoutMs');
    process.stdout.write(
      `never-settling handler: ${PRODUCERS} producers, ${errors} timed out, ${rejected} refused, ` +
        `active <= ${maxActive}, ring bytes <= ${maxRing}, fds ${fdsBefore} -> ${fds()}\n`,
    );
  }, 30_000);
});
