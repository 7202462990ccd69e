import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/wire/encode.js';
import { connect, Recorder, sendAndClose, startServer, until, type LiveServer } from '../helpers/live-server.js';

function frames(n: number, tag: string, payloadBytes = 100): Buffer[] {
  return Array.from({ length: n }, (_, i) =>
    encodeFrame({ sourceId: `src-${tag}`, destId: 'sink', payload: Buffer.alloc(payloadBytes, i & 0xff), timestamp: Date.now() * 1000, flags: i & 0xff }),
  );
}

let live: LiveServer | null = null;
afterEach(async () => {
  await live?.stop();
  live = null;
});

describe.each(['auto', 'data'] as const)('delivery over loopback (read mode %s)', (readMode) => {
  it('delivers every frame of a connection in the order it was sent, byte-exact', async () => {
    const rec = new Recorder();
    live = await startServer({}, { handlers: [{ name: 'rec', handler: rec }], readMode });
    const sent = frames(2000, 'a', 300);
    await sendAndClose(await connect(live.tcpPort), sent);
    await rec.waitFor(sent.length);
    expect(rec.all.map((p) => p.frame)).toEqual(sent);
    expect(live.server.stats.packets).toBe(sent.length);
    expect(live.server.stats.bytes).toBe(sent.reduce((s, b) => s + b.length, 0));
  });

  it('keeps each connection in order when many send at once', async () => {
    const rec = new Recorder();
    live = await startServer({}, { handlers: [{ name: 'rec', handler: rec }], readMode });
    const port = live.tcpPort;
    const perConn = Array.from({ length: 8 }, (_, k) => frames(500, `c${k}`, 64 + k * 100));
    await Promise.all(perConn.map(async (fs) => sendAndClose(await connect(port), fs)));
    await rec.waitFor(8 * 500);
    const bySource = new Map<string, Buffer[]>();
    for (const p of rec.all) {
      const list = bySource.get(p.sourceId) ?? [];
      list.push(p.frame);
      bySource.set(p.sourceId, list);
    }
    perConn.forEach((fs, k) => expect(bySource.get(`src-c${k}`)).toEqual(fs));
  });

  it('delivers frames larger than the ring whole', async () => {
    const rec = new Recorder();
    live = await startServer({ tcp: { ringBytes: 4096 } }, { handlers: [{ name: 'rec', handler: rec }], readMode });
    const sent = [...frames(3, 'big', 50_000), ...frames(50, 'small', 10), ...frames(2, 'big2', 200_000)];
    await sendAndClose(await connect(live.tcpPort), sent);
    await rec.waitFor(sent.length);
    expect(rec.all.map((p) => p.frame)).toEqual(sent);
    await until(() => live!.server.stats.ringBytes === 0, 5000, 'rings released');
  });

  it('counts one truncated when a producer closes mid-frame, after delivering the frames before it', async () => {
    const rec = new Recorder();
    live = await startServer({}, { handlers: [{ name: 'rec', handler: rec }], readMode });
    const sent = frames(3, 't');
    const partial = frames(1, 't')[0].subarray(0, 40);
    await sendAndClose(await connect(live.tcpPort), [...sent, partial]);
    await until(() => live!.server.stats.frameErrors.truncated === 1, 5000, 'truncated counted');
    expect(rec.all.length).toBe(3);
    expect(live.server.stats.connectionsActive).toBe(0);
  });

  it('counts nothing when a producer closes at a frame boundary', async () => {
    const rec = new Recorder();
    live = await startServer({}, { handlers: [{ name: 'rec', handler: rec }], readMode });
    await sendAndClose(await connect(live.tcpPort), frames(5, 'b'));
    await until(() => live!.server.stats.connectionsActive === 0, 5000, 'connection closed');
    expect(Object.values(live.server.stats.frameErrors).every((n) => n === 0)).toBe(true);
  });
});
