/**
 * tcp.proxyProtocol through the real server (src/socket/accept-pipeline.ts):
 * the carried address stands for the producer (handlers, tcp.allow,
 * per-address limits), bytes after the header are kept, and every bad
 * preamble is a counted `proxy_protocol` rejection that delivers nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import net from 'node:net';
import { once } from 'node:events';
import type { ConnectionInfo } from '../../src/handlers/types.js';
import { encodeFrame } from '../../src/wire/encode.js';
import { encodeV1, encodeV2, ipv4Bytes, ipv6Bytes, V2_SIGNATURE } from '../helpers/proxy-headers.js';
import { Recorder, startServer, until, type LiveServer } from '../helpers/live-server.js';

const frames = (n: number, tag = 'p'): Buffer =>
  Buffer.concat(Array.from({ length: n }, (_, i) => encodeFrame({ sourceId: `${tag}-${i}`, destId: 'd', payload: Buffer.alloc(100 + i, i) })));

const v1 = (source: string, port = 40000) => encodeV1({ protocol: 'TCP4', source, destination: '10.0.0.1', sourcePort: port, destinationPort: 7400 });
const v2six = (source: string, port = 50000) =>
  encodeV2({ command: 1, family: 2, source: ipv6Bytes(source), destination: ipv6Bytes('2001:db8::1'), sourcePort: port, destinationPort: 7400 });

/** Writes each part separately (write callback, then a turn of the loop between), then FIN unless keepOpen. */
async function send(port: number, parts: Buffer[], keepOpen = false): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  socket.on('error', () => {});
  await once(socket, 'connect');
  for (const p of parts) {
    await new Promise((resolve) => socket.write(p, resolve));
    await new Promise((resolve) => setImmediate(resolve));
  }
  if (!keepOpen) socket.end();
  socket.resume();
  return socket;
}

/** A Recorder that also keeps the ConnectionInfo each packet came with. */
function recorder(): { rec: Recorder; conns: ConnectionInfo[] } {
  const rec = new Recorder();
  const conns: ConnectionInfo[] = [];
  const onPacket = rec.onPacket.bind(rec);
  rec.onPacket = (p, c) => {
    conns.push(c);
    onPacket(p, c);
  };
  return { rec, conns };
}

describe('tcp.proxyProtocol on the ingest listener', () => {
  let live: LiveServer | null = null;
  afterEach(async () => {
    await live?.stop();
    live = null;
  });
  const rejected = (reason: 'proxy_protocol' | 'not_allowed' | 'per_address_limit') => live?.server.stats.connectionsRejected[reason] ?? -1;

  it('v1: frames in the same write as the header are delivered, under the carried address', async () => {
    const { rec, conns } = recorder();
    live = await startServer({ tcp: { proxyProtocol: 'v1' } }, { handlers: [{ name: 'rec', handler: rec }] });
    await send(live.tcpPort, [Buffer.concat([v1('203.0.113.9', 41000), frames(20)])]);
    await rec.waitFor(20);
    expect(rec.all.map((p) => p.sourceId)).toEqual(Array.from({ length: 20 }, (_, i) => `p-${i}`));
    expect(conns[0]).toMatchObject({ remoteAddress: '203.0.113.9', remotePort: 41000, tls: null });
    expect(live.server.stats.connectionsTotal).toBe(1);
  });

  it('v2 (IPv6) split across reads, byte by byte through the header, the split running into the first frame', async () => {
    const { rec, conns } = recorder();
    live = await startServer({ tcp: { proxyProtocol: 'v2' } }, { handlers: [{ name: 'rec', handler: rec }] });
    const header = v2six('2001:db8:0:0::42');
    const all = Buffer.concat([header, frames(5)]);
    const parts = [...Array.from({ length: header.length - 1 }, (_, i) => all.subarray(i, i + 1)), all.subarray(header.length - 1, header.length + 7), all.subarray(header.length + 7)];
    await send(live.tcpPort, parts);
    await rec.waitFor(5);
    expect(rec.all.map((p) => p.sourceId)).toEqual(['p-0', 'p-1', 'p-2', 'p-3', 'p-4']);
    expect(conns[0]).toMatchObject({ remoteAddress: '2001:db8::42', remotePort: 50000 });
  });

  it('any: a v2 LOCAL header (a balancer health check) keeps the socket address', async () => {
    const { rec, conns } = recorder();
    live = await startServer({ tcp: { proxyProtocol: 'any' } }, { handlers: [{ name: 'rec', handler: rec }] });
    await send(live.tcpPort, [encodeV2({ command: 0, family: 0, transport: 0 }), frames(1)]);
    await rec.waitFor(1);
    expect(conns[0].remoteAddress).toBe('127.0.0.1');
  });

  it.each([
    ['no header (frames straight away)', 'any', () => [frames(2)]],
    ['a bad v1 line', 'v1', () => [Buffer.from('PROXY TCP4 1.2.3 10.0.0.1 1 2\r\n'), frames(2)]],
    ['a v2 header under mode v1', 'v1', () => [v2six('2001:db8::9'), frames(2)]],
    ['a v2 header of version 3', 'v2', () => [encodeV2({ command: 1, family: 1, version: 3, source: ipv4Bytes('1.2.3.4'), destination: ipv4Bytes('5.6.7.8') }), frames(2)]],
    ['a v1 line with no CRLF within 107 bytes (oversized)', 'v1', () => [Buffer.from(`PROXY TCP4 ${'1'.repeat(120)}`), frames(2)]],
    ['a v2 length above the bound (oversized)', 'v2', () => [Buffer.concat([V2_SIGNATURE, Buffer.from([0x21, 0x11, 0xff, 0xff])]), frames(2)]],
    ['a header cut short by FIN (truncated)', 'any', () => [v1('203.0.113.9').subarray(0, 20)]],
  ])('refuses %s: proxy_protocol, connection closed, nothing delivered', async (_what, mode, parts) => {
    const { rec } = recorder();
    live = await startServer({ tcp: { proxyProtocol: mode } }, { handlers: [{ name: 'rec', handler: rec }] });
    const truncated = _what.includes('FIN');
    const socket = await send(live.tcpPort, parts(), !truncated);
    if (!socket.destroyed) await once(socket, 'close');
    await until(() => rejected('proxy_protocol') === 1, 5000, 'proxy_protocol counted');
    expect(live.server.stats.connectionsTotal).toBe(0);
    expect(live.server.stats.packets).toBe(0);
    expect(rec.all).toHaveLength(0);
  });

  it('closes a client that sends no header within the preamble timeout, counted', async () => {
    live = await startServer({ tcp: { proxyProtocol: 'any' } }, { preambleTimeoutMs: 150 });
    const socket = await send(live.tcpPort, [], true);
    const started = Date.now();
    await once(socket, 'close');
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    expect(rejected('proxy_protocol')).toBe(1);
  });

  it('shutdown closes a connection still waiting for its header at once, not at the preamble timeout', async () => {
    live = await startServer({ tcp: { proxyProtocol: 'v2' } }, { preambleTimeoutMs: 30_000 });
    const socket = await send(live.tcpPort, [V2_SIGNATURE.subarray(0, 5)], true);
    await until(() => live?.server.tcp?.pendingCount === 1, 5000, 'the header pending');
    const started = Date.now();
    // A reset is fine here: only the close matters (events.once would reject on 'error').
    await Promise.all([live.stop(), new Promise((resolve) => socket.once('close', resolve))]);
    live = null;
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('checks tcp.allow against the carried address, not the balancer', async () => {
    const { rec, conns } = recorder();
    live = await startServer({ tcp: { proxyProtocol: 'v1', allow: ['10.0.0.0/8'] } }, { handlers: [{ name: 'rec', handler: rec }] });
    await send(live.tcpPort, [v1('10.1.2.3'), frames(1, 'in')]);
    await rec.waitFor(1);
    const outsider = await send(live.tcpPort, [v1('192.0.2.7'), frames(1, 'out')], true);
    await once(outsider, 'close');
    expect(rejected('not_allowed')).toBe(1);
    expect(conns.map((c) => c.remoteAddress)).toEqual(['10.1.2.3']);
    expect(rec.all.map((p) => p.sourceId)).toEqual(['in-0']);
  });

  it('applies maxConnectionsPerAddress to the carried address', async () => {
    live = await startServer({ tcp: { proxyProtocol: 'v1', maxConnectionsPerAddress: 1 } });
    const first = await send(live.tcpPort, [v1('198.51.100.1', 1)], true);
    await until(() => live?.server.tcp?.connections.size === 1, 5000, 'first admitted');
    const same = await send(live.tcpPort, [v1('198.51.100.1', 2)], true);
    await once(same, 'close');
    expect(rejected('per_address_limit')).toBe(1);
    // Same balancer socket address, another carried address: admitted.
    const other = await send(live.tcpPort, [v1('198.51.100.2', 3)], true);
    await until(() => live?.server.tcp?.connections.size === 2, 5000, 'other address admitted');
    first.destroy();
    other.destroy();
    // Closing gives the place back: the first address may connect again.
    await until(() => live?.server.tcp?.connections.size === 0, 5000, 'both closed');
    const again = await send(live.tcpPort, [v1('198.51.100.1', 4)], true);
    await until(() => live?.server.stats.connectionsTotal === 3, 5000, 'first address admitted again');
    again.destroy();
  });
});
