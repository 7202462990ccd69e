import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/wire/encode.js';
import { LANDING } from '../../src/socket/onread-hooks.js';
import { connect, Recorder, startServer, until, type LiveServer } from '../helpers/live-server.js';

let live: LiveServer | null = null;
afterEach(async () => {
  await live?.stop();
  live = null;
});

const frame = encodeFrame({ sourceId: 's', destId: 'd', payload: Buffer.alloc(100) });

describe('rings of quiet connections', () => {
  it('gives the ring back after a read that came after a quiet spell, and reads the next frame through LANDING', async () => {
    const rec = new Recorder();
    live = await startServer({}, { handlers: [{ name: 'rec', handler: rec }] });
    const tcp = live.server.tcp!;
    expect(tcp.usesOnread).toBe(true);
    // Freeze the coarse clock so "quiet" is decided by the test, not by timing.
    const clock = tcp.clock;
    clock.tick = () => clock.now;
    const socket = await connect(live.tcpPort);
    socket.write(frame);
    await rec.waitFor(1);
    const conn = [...tcp.connections][0];
    // A first read after connect counts as quiet too only if the clock says so: advance it.
    clock.now += 5000;
    socket.write(frame);
    await rec.waitFor(2);
    expect(conn.lent).toBe(LANDING);
    expect(tcp.pool.inUse).toBe(0);
    // Still delivers after shedding: the next read lands in LANDING and is copied.
    socket.write(frame);
    await rec.waitFor(3);
    expect(rec.all.every((p) => p.frame.equals(frame))).toBe(true);
    socket.destroy();
    await until(() => tcp.connections.size === 0, 5000, 'closed');
  });

  it('keeps the ring across reads that come close together', async () => {
    const rec = new Recorder();
    live = await startServer({}, { handlers: [{ name: 'rec', handler: rec }] });
    const tcp = live.server.tcp!;
    const clock = tcp.clock;
    clock.tick = () => clock.now;
    const socket = await connect(live.tcpPort);
    socket.write(frame);
    await rec.waitFor(1);
    socket.write(frame);
    await rec.waitFor(2);
    const conn = [...tcp.connections][0];
    expect(conn.lent).not.toBe(LANDING);
    expect(tcp.pool.inUse).toBe(1);
    socket.destroy();
    await until(() => tcp.connections.size === 0, 5000, 'closed');
  });
});
