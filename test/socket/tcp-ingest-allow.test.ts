/**
 * tcp.allow on plain TCP (TcpIngest.admit): checked at accept, on both read
 * paths, for both address families; a refused producer is counted
 * `not_allowed` and none of its bytes become frames.
 */
import { afterEach, describe, expect, it } from 'vitest';
import net from 'node:net';
import { once } from 'node:events';
import { Allowlist } from '../../src/socket/allowlist.js';
import { encodeFrame } from '../../src/wire/encode.js';
import { Recorder, startServer, until, type LiveServer } from '../helpers/live-server.js';

const FRAMES = Buffer.concat([0, 1, 2].map((i) => encodeFrame({ sourceId: `s${i}`, destId: 'd', payload: Buffer.alloc(64, i) })));

/** Connects from `host` to the server, sends FRAMES, ends; resolves when the socket closed. */
async function produce(host: string, port: number): Promise<void> {
  const socket = net.connect({ host, port });
  socket.on('error', () => {});
  socket.resume();
  await once(socket, 'connect');
  socket.end(FRAMES);
  await once(socket, 'close');
}

describe.each(['auto', 'data'] as const)('tcp.allow, plain TCP, readMode %s', (readMode) => {
  let live: LiveServer | null = null;
  afterEach(async () => {
    await live?.stop();
    live = null;
  });

  it.each([
    ['IPv4', '127.0.0.1', ['127.0.0.0/8'], ['10.0.0.0/8']],
    ['IPv6', '::1', ['::1/128'], ['2001:db8::/32', '127.0.0.0/8']],
  ])('%s: an allowed block delivers, another is refused as not_allowed before any frame', async (_family, host, allowed, refused) => {
    const rec = new Recorder();
    live = await startServer({ tcp: { host, allow: allowed } }, { handlers: [{ name: 'rec', handler: rec }], readMode });
    await produce(host, live.tcpPort);
    await rec.waitFor(3);
    expect(live.server.stats.connectionsRejected.not_allowed).toBe(0);

    live.server.tcp?.setAllowlist(new Allowlist(refused));
    await produce(host, live.tcpPort);
    await until(() => live?.server.stats.connectionsRejected.not_allowed === 1, 5000, 'not_allowed counted');
    expect(live.server.stats.connectionsTotal).toBe(1);
    expect(rec.all).toHaveLength(3);
    expect(live.server.stats.packets).toBe(3);
  });
});
