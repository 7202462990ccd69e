/**
 * tcp.tls through the real server (src/socket/accept-pipeline.ts): frames
 * over TLS reach handlers with the identity on `connection.tls`, every
 * failed handshake is counted `tls_handshake` and opens no connection.
 * Needs openssl for the test certificates: skipped without it, fails under CI.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { once } from 'node:events';
import tls from 'node:tls';
import { encodeFrame } from '../../src/wire/encode.js';
import { opensslStatus, useTestCerts } from '../helpers/certs.js';
import { connectClient } from '../helpers/tls-probe.js';
import { encodeV2, ipv4Bytes } from '../helpers/proxy-headers.js';
import pino from 'pino';
import { IngestServer } from '../../src/server.js';
import { Recorder, startServer, testConfig, until, type LiveServer } from '../helpers/live-server.js';

const openssl = opensslStatus();

const frames = (n: number, tag = 'p'): Buffer =>
  Buffer.concat(Array.from({ length: n }, (_, i) => encodeFrame({ sourceId: `${tag}-${i}`, destId: 'd', payload: Buffer.alloc(16 + (i % 7), i) })));

/** Connects over TLS, sends `data`, ends, and waits for the close. */
async function sendTls(port: number, options: tls.ConnectionOptions, data: Buffer): Promise<{ error: Error | null }> {
  const { socket, closed } = connectClient(port, options);
  socket.on('secureConnect', () => socket.end(data));
  return closed;
}

describe.skipIf(!openssl.available && !openssl.required)('tcp.tls on the ingest listener', () => {
  const certs = useTestCerts();
  let live: LiveServer | null = null;
  afterEach(async () => {
    await live?.stop();
    live = null;
  });

  const tlsConfig = (over: Record<string, unknown> = {}) => ({
    tcp: { tls: { certFile: certs().server.certFile, keyFile: certs().server.keyFile, caFile: certs().caFile, ...over } },
  });
  const rejected = () => live?.server.stats.connectionsRejected.tls_handshake ?? -1;

  it('delivers frames over TLS; the connection carries the protocol and no peer (clientAuth none)', async () => {
    const rec = new Recorder();
    const seen: unknown[] = [];
    rec.onPacket = ((orig) => (p, c) => {
      seen.push({ tls: c.tls, remoteAddress: c.remoteAddress });
      orig.call(rec, p, c);
    })(rec.onPacket);
    live = await startServer(tlsConfig(), { handlers: [{ name: 'rec', handler: rec }] });
    const { error } = await sendTls(live.tcpPort, { ca: certs().ca }, frames(50));
    expect(error).toBeNull();
    await rec.waitFor(50);
    expect(rec.all.map((p) => p.sourceId)).toEqual(Array.from({ length: 50 }, (_, i) => `p-${i}`));
    expect(seen[0]).toEqual({ tls: { protocol: 'TLSv1.3', authorized: false, peer: null }, remoteAddress: '127.0.0.1' });
    expect(live.server.stats.connectionsTotal).toBe(1);
    expect(rejected()).toBe(0);
  });

  it('gives a module handler the verified client identity (clientAuth require)', async () => {
    const dir = fs.mkdtempSync(path.join(certs().dir, 'mod-'));
    const modulePath = path.join(dir, 'identity.mjs');
    fs.writeFileSync(
      modulePath,
      'export default (options) => ({ onPacket(p, c) { globalThis[options.key].push({ tls: c.tls, id: p.sourceId, bound: c.log.bindings().tls }); } });\n',
    );
    const key = `tlsIdentity${process.pid}`;
    type Peer = { subject: string; subjectAltNames: string[]; fingerprint256: string };
    const got: Array<{ tls: { authorized: boolean; peer: Peer }; id: string; bound: unknown }> = [];
    (globalThis as Record<string, unknown>)[key] = got;
    live = await startServer({
      ...tlsConfig({ clientAuth: 'require' }),
      handlers: [{ type: 'module', name: 'who', path: modulePath, options: { key } }],
    });
    await sendTls(live.tcpPort, { ca: certs().ca, cert: certs().client.cert, key: certs().client.key }, frames(3));
    await until(() => got.length === 3, 5000, 'three packets at the module handler');
    const expectedFingerprint = new X509Certificate(certs().client.cert).fingerprint256;
    expect(got[0].tls).toMatchObject({
      protocol: 'TLSv1.3',
      authorized: true,
      peer: { subject: 'CN=producer-1,O=pkt-ingest tests', subjectAltNames: ['DNS:producer-1.test'], fingerprint256: expectedFingerprint },
    });
    // The same identity is bound into the connection's log lines.
    expect(got[0].bound).toEqual(got[0].tls);
    expect(rejected()).toBe(0);
  });

  it.each([
    ['no client certificate', () => ({})],
    ['an expired client certificate', () => ({ cert: certs().expiredClient.cert, key: certs().expiredClient.key })],
    ['a certificate another CA signed', () => ({ cert: certs().strangerClient.cert, key: certs().strangerClient.key })],
  ])('refuses %s under clientAuth require: counted tls_handshake, no connection', async (_what, creds) => {
    const rec = new Recorder();
    live = await startServer(tlsConfig({ clientAuth: 'require' }), { handlers: [{ name: 'rec', handler: rec }] });
    const { closed, socket } = connectClient(live.tcpPort, { ca: certs().ca, ...creds() });
    // TLS 1.3: the client finishes first; its frames must still go nowhere.
    socket.on('secureConnect', () => socket.write(frames(2)));
    await closed;
    await until(() => rejected() === 1, 5000, 'tls_handshake counted');
    expect(live.server.stats.connectionsTotal).toBe(0);
    expect(live.server.stats.packets).toBe(0);
    expect(rec.all).toHaveLength(0);
  });

  it.each([
    ['expired', () => certs().expiredClient, 'CERT_HAS_EXPIRED'],
    ['wrongly signed', () => certs().strangerClient, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'],
  ])('admits a client certificate that is %s under clientAuth request, marked unauthorized with the reason', async (_what, pair, reason) => {
    const rec = new Recorder();
    const seen: unknown[] = [];
    rec.onPacket = ((orig) => (p, c) => {
      seen.push(c.tls);
      orig.call(rec, p, c);
    })(rec.onPacket);
    live = await startServer(tlsConfig({ clientAuth: 'request' }), { handlers: [{ name: 'rec', handler: rec }] });
    await sendTls(live.tcpPort, { ca: certs().ca, cert: pair().cert, key: pair().key }, frames(1));
    await rec.waitFor(1);
    expect(seen[0]).toMatchObject({ authorized: false, authorizationError: expect.stringContaining(reason), peer: { subject: 'CN=producer-1,O=pkt-ingest tests' } });
  });

  it('logs refused handshakes with the reason, rate-limited (10 lines per 10 s), while counting every one', async () => {
    const lines: Array<{ msg: string; reason?: string; tlsError?: string; suppressed?: number }> = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line) as (typeof lines)[number]) });
    const { config } = testConfig(tlsConfig({ clientAuth: 'require' }));
    const server = new IngestServer({ config, logger, handlers: [] });
    const { tcpPort } = await server.start();
    try {
      for (let i = 0; i < 12; i++) {
        await connectClient(tcpPort, { ca: certs().ca, cert: certs().expiredClient.cert, key: certs().expiredClient.key }).closed;
      }
      await until(() => server.stats.connectionsRejected.tls_handshake === 12, 5000, '12 counted');
      const refused = lines.filter((l) => l.msg === 'connection rejected' && l.reason === 'tls_handshake');
      expect(refused).toHaveLength(10);
      expect(refused[0].tlsError).toBe('CERT_HAS_EXPIRED');
    } finally {
      await server.shutdown();
    }
  });

  it('refuses a client below minVersion TLSv1.3', async () => {
    live = await startServer(tlsConfig({ minVersion: 'TLSv1.3' }));
    const { error } = await sendTls(live.tcpPort, { ca: certs().ca, maxVersion: 'TLSv1.2' }, frames(1));
    expect(error).not.toBeNull();
    await until(() => rejected() === 1, 5000, 'tls_handshake counted');
    expect(live.server.stats.connectionsTotal).toBe(0);
  });

  it('counts plain PKT frames sent to the TLS port as a failed handshake and closes the socket', async () => {
    live = await startServer(tlsConfig());
    const socket = net.connect(live.tcpPort, '127.0.0.1');
    socket.on('error', () => {});
    socket.resume();
    socket.write(frames(3));
    await once(socket, 'close');
    await until(() => rejected() === 1, 5000, 'tls_handshake counted');
    expect(live.server.stats.packets).toBe(0);
  });

  it('closes a client that never starts the handshake after handshakeTimeoutMs, counted, its slot given back', async () => {
    live = await startServer({ ...tlsConfig(), tcp: { ...tlsConfig().tcp, maxConnections: 1 } }, { handshakeTimeoutMs: 200 });
    const silent = net.connect(live.tcpPort, '127.0.0.1');
    silent.on('error', () => {});
    silent.resume();
    const started = Date.now();
    await once(silent, 'close');
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    await until(() => rejected() === 1, 5000, 'tls_handshake counted');
    // The slot it held (maxConnections 1) is free again: a real producer gets in.
    const { error } = await sendTls(live.tcpPort, { ca: certs().ca }, frames(1));
    expect(error).toBeNull();
    await until(() => live?.server.stats.packets === 1, 5000, 'the next producer delivered');
    expect(live.server.stats.connectionsRejected.max_connections).toBe(0);
  });

  it('reads a PROXY v2 header on the raw socket, then the handshake: carried address and identity together', async () => {
    const rec = new Recorder();
    const seen: Array<{ remoteAddress: string; remotePort: number; authorized: boolean | undefined }> = [];
    rec.onPacket = ((orig) => (p, c) => {
      seen.push({ remoteAddress: c.remoteAddress, remotePort: c.remotePort, authorized: c.tls?.authorized });
      orig.call(rec, p, c);
    })(rec.onPacket);
    live = await startServer({ tcp: { ...tlsConfig({ clientAuth: 'require' }).tcp, proxyProtocol: 'v2', allow: ['192.0.2.0/24'] } }, { handlers: [{ name: 'rec', handler: rec }] });
    const raw = net.connect(live.tcpPort, '127.0.0.1');
    await once(raw, 'connect');
    raw.write(encodeV2({ command: 1, family: 1, source: ipv4Bytes('192.0.2.44'), destination: ipv4Bytes('10.0.0.1'), sourcePort: 45000, destinationPort: 7400 }));
    const { closed, socket } = connectClient(live.tcpPort, { socket: raw, ca: certs().ca, cert: certs().client.cert, key: certs().client.key });
    socket.on('secureConnect', () => socket.end(frames(4)));
    expect((await closed).error).toBeNull();
    await rec.waitFor(4);
    expect(seen[0]).toEqual({ remoteAddress: '192.0.2.44', remotePort: 45000, authorized: true });
  });

  it('keeps the ClientHello that arrives in the same write as the PROXY header (a balancer in front)', async () => {
    const rec = new Recorder();
    const seen: string[] = [];
    rec.onPacket = ((orig) => (p, c) => {
      seen.push(c.remoteAddress);
      orig.call(rec, p, c);
    })(rec.onPacket);
    live = await startServer({ tcp: { ...tlsConfig().tcp, proxyProtocol: 'v1' } }, { handlers: [{ name: 'rec', handler: rec }] });
    const header = Buffer.from('PROXY TCP4 198.51.100.20 10.0.0.1 50000 7400\r\n');
    const firstWrites: number[] = [];
    // A balancer that sends the header and the client's first bytes (its ClientHello) in one write.
    const balancer = net.createServer((client) => {
      const upstream = net.connect(live?.tcpPort ?? 0, '127.0.0.1');
      client.once('data', (hello: Buffer) => {
        firstWrites.push(header.length + hello.length);
        upstream.write(Buffer.concat([header, hello]));
        client.pipe(upstream).pipe(client);
      });
      for (const s of [client, upstream]) s.on('error', () => {});
    });
    await new Promise<void>((resolve) => balancer.listen(0, '127.0.0.1', resolve));
    try {
      const { closed, socket } = connectClient((balancer.address() as net.AddressInfo).port, { ca: certs().ca });
      socket.on('secureConnect', () => socket.end(frames(3)));
      expect((await closed).error).toBeNull();
      await rec.waitFor(3);
      expect(firstWrites[0]).toBeGreaterThan(header.length + 100); // the ClientHello did ride along
      expect(seen).toEqual(['198.51.100.20', '198.51.100.20', '198.51.100.20']);
    } finally {
      balancer.close();
    }
  });

  it('shutdown closes a connection still in its handshake at once, not at the handshake timeout', async () => {
    live = await startServer(tlsConfig(), { handshakeTimeoutMs: 30_000 });
    const silent = net.connect(live.tcpPort, '127.0.0.1');
    silent.on('error', () => {});
    silent.resume();
    await until(() => live?.server.tcp?.pendingCount === 1, 5000, 'the silent socket pending');
    const started = Date.now();
    // A reset is fine here: only the close matters (events.once would reject on 'error').
    await Promise.all([live.stop(), new Promise((resolve) => silent.once('close', resolve))]);
    live = null;
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('holds pending handshakes against maxConnections', async () => {
    live = await startServer({ ...tlsConfig(), tcp: { ...tlsConfig().tcp, maxConnections: 1 } }, { handshakeTimeoutMs: 5000 });
    const silent = net.connect(live.tcpPort, '127.0.0.1');
    silent.on('error', () => {});
    await once(silent, 'connect');
    await until(() => live?.server.tcp?.slotRefusal() === 'max_connections', 5000, 'the silent socket holds the slot');
    const second = await sendTls(live.tcpPort, { ca: certs().ca }, frames(1));
    expect(second.error).not.toBeNull();
    expect(live.server.stats.connectionsRejected.max_connections).toBe(1);
    silent.destroy();
  });
});
