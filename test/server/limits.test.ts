import net from 'node:net';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/wire/encode.js';
import type { PacketHandler } from '../../src/handlers/types.js';
import { connect, Recorder, sendAndClose, startServer, until, type LiveServer } from '../helpers/live-server.js';

let live: LiveServer | null = null;
afterEach(async () => {
  await live?.stop();
  live = null;
});

const frame = encodeFrame({ sourceId: 's', destId: 'd', payload: Buffer.from('x') });

/** Connects and resolves when the server closed it (or never, for an admitted idle one). */
function closedByServer(socket: net.Socket): Promise<unknown> {
  socket.on('error', () => {});
  socket.resume();
  return once(socket, 'close');
}

describe('connection limits', () => {
  it('accepts and closes at once a connection over maxConnections, and counts it', async () => {
    live = await startServer({ tcp: { maxConnections: 2 } });
    const a = await connect(live.tcpPort);
    const b = await connect(live.tcpPort);
    await until(() => live!.server.stats.connectionsActive === 2, 5000, 'two admitted');
    const c = await connect(live.tcpPort);
    await closedByServer(c);
    expect(live.server.stats.connectionsRejected.max_connections).toBe(1);
    expect(live.server.stats.connectionsActive).toBe(2);
    a.destroy();
    b.destroy();
  });

  it('enforces the per-address limit', async () => {
    live = await startServer({ tcp: { maxConnectionsPerAddress: 1 } });
    const a = await connect(live.tcpPort);
    await until(() => live!.server.stats.connectionsActive === 1, 5000, 'one admitted');
    await closedByServer(await connect(live.tcpPort));
    expect(live.server.stats.connectionsRejected.per_address_limit).toBe(1);
    a.destroy();
  });
});

describe('idle timeout', () => {
  it('closes a silent connection after idleTimeoutMs', async () => {
    live = await startServer({ tcp: { idleTimeoutMs: 200 } });
    const started = Date.now();
    await closedByServer(await connect(live.tcpPort));
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    await until(() => live!.server.stats.connectionsActive === 0, 5000, 'server side closed');
  });

  it('closes a stalled producer mid-frame and counts it truncated', async () => {
    const rec = new Recorder();
    live = await startServer({ tcp: { idleTimeoutMs: 200 } }, { handlers: [{ name: 'rec', handler: rec }] });
    const socket = await connect(live.tcpPort);
    const closed = closedByServer(socket);
    socket.write(Buffer.concat([frame, frame.subarray(0, 10)]));
    await closed;
    await until(() => live!.server.stats.connectionsActive === 0, 5000, 'server side closed');
    expect(rec.all.length).toBe(1);
    expect(live.server.stats.frameErrors.truncated).toBe(1);
  });
});

describe('handler failures', () => {
  it('counts a throwing or rejecting handler per name and keeps delivering to the others', async () => {
    const rec = new Recorder();
    let calls = 0;
    const thrower: PacketHandler = {
      onPacket() {
        calls++;
        if (calls % 2) throw new Error('boom');
        return Promise.reject(new Error('async boom'));
      },
    };
    live = await startServer({}, { handlers: [{ name: 'bad', handler: thrower }, { name: 'rec', handler: rec }] });
    await sendAndClose(await connect(live.tcpPort), Array.from({ length: 10 }, () => frame));
    await rec.waitFor(10);
    await until(() => live!.server.stats.handlerErrors.get('bad') === 10, 5000, 'errors counted');
    expect(live.server.stats.handlerErrors.get('rec')).toBe(0);
  });
});
