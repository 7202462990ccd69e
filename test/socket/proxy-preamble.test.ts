import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import tls from 'node:tls';
import { readProxyPreamble, type PreambleOutcome } from '../../src/socket/proxy-preamble.js';
import { ProxyHeaderParser, type ProxyMode } from '../../src/socket/proxy-protocol.js';
import { ReloadableTlsContext } from '../../src/socket/tls-context.js';
import { tlsIdentity, type TlsIdentity } from '../../src/socket/tls-identity.js';
import { encodeFrame } from '../../src/wire/encode.js';
import { makeTestCerts, opensslStatus, type TestCerts } from '../helpers/certs.js';
import { encodeV1, encodeV2, ipv6Bytes } from '../helpers/proxy-headers.js';

const FRAME = encodeFrame({ sourceId: 'behind', destId: 'balancer', payload: Buffer.alloc(3000, 7) });
const V1 = encodeV1({ protocol: 'TCP4', source: '203.0.113.9', destination: '10.0.0.1', sourcePort: 40000, destinationPort: 7400 });

/** A server that reads each connection's preamble, then collects what follows. */
async function preambleServer(mode: ProxyMode, timeoutMs = 2000) {
  const results: Array<Promise<{ outcome: PreambleOutcome; after: Buffer; socket: net.Socket }>> = [];
  const server = net.createServer((socket) => {
    results.push(
      readProxyPreamble(socket, new ProxyHeaderParser(mode), timeoutMs).then(async (outcome) => {
        if (!outcome.ok) {
          socket.destroy();
          return { outcome, after: Buffer.alloc(0), socket };
        }
        const chunks: Buffer[] = [];
        socket.on('data', (c: Buffer) => chunks.push(c));
        // The preamble leaves the socket paused: the next reader resumes it.
        socket.resume();
        await new Promise((resolve) => socket.once('end', resolve));
        socket.end();
        return { outcome, after: Buffer.concat(chunks), socket };
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const next = async (i: number) => {
    while (results.length <= i) await new Promise((r) => setImmediate(r));
    return results[i];
  };
  return { port, next, close: () => new Promise((r) => server.close(r)) };
}

/** Writes `parts` one after another (each its own write, waited for), then FIN unless `keepOpen`. */
async function send(port: number, parts: Buffer[], keepOpen = false): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  await new Promise((resolve) => socket.once('connect', resolve));
  for (const p of parts) await new Promise((resolve) => socket.write(p, resolve));
  if (!keepOpen) socket.end();
  socket.resume();
  return socket;
}

describe('readProxyPreamble on a real socket', () => {
  it('takes a header split over writes and leaves the frame bytes that came with it for the next reader', async () => {
    const s = await preambleServer('any');
    try {
      const joined = Buffer.concat([V1, FRAME]);
      await send(s.port, [joined.subarray(0, 3), joined.subarray(3, V1.length - 1), joined.subarray(V1.length - 1, V1.length + 10), joined.subarray(V1.length + 10)]);
      const r = await s.next(0);
      expect(r.outcome.ok).toBe(true);
      if (r.outcome.ok) expect([r.outcome.header.sourceAddress, r.outcome.header.sourcePort, r.outcome.header.headerLength]).toEqual(['203.0.113.9', 40000, V1.length]);
      expect(r.after).toEqual(FRAME);
    } finally {
      await s.close();
    }
  });

  it.each<[string, ProxyMode, Buffer[], string]>([
    ['a bare frame', 'any', [FRAME], 'bad_signature'],
    ['a v1 header where v2 is configured', 'v2', [V1], 'bad_signature'],
    ['a v2 length past the bound', 'v2', [encodeV2({ command: 1, family: 1, length: 60_000 })], 'too_long'],
    ['an end inside the header', 'any', [V1.subarray(0, 20)], 'truncated'],
  ])('refuses %s', async (_name, mode, parts, reason) => {
    const s = await preambleServer(mode);
    try {
      await send(s.port, parts);
      expect((await s.next(0)).outcome).toEqual({ ok: false, reason });
    } finally {
      await s.close();
    }
  });

  it('gives up on a header that does not complete in time', async () => {
    const s = await preambleServer('any', 150);
    const client = await send(s.port, [V1.subarray(0, 10)], true);
    try {
      const started = performance.now();
      expect((await s.next(0)).outcome).toEqual({ ok: false, reason: 'timeout' });
      expect(performance.now() - started).toBeLessThan(2000);
      await new Promise((resolve) => client.once('close', resolve));
    } finally {
      client.destroy();
      await s.close();
    }
  });
});

// Certificates come from openssl at test time: skipped without it, a failure under CI.
const openssl = opensslStatus();

describe.skipIf(!openssl.available && !openssl.required)('PROXY header before a TLS handshake (a balancer passing TLS through)', () => {
  let certs: TestCerts;
  beforeAll(async () => {
    expect(openssl.available, 'openssl not found (apt-get install openssl)').toBe(true);
    certs = await makeTestCerts();
  }, 30_000);
  afterAll(() => certs?.remove());

  it('reads the header in clear, hands the socket to a tls.Server, and the handshake and frames follow', async () => {
    const ctx = new ReloadableTlsContext(
      { certFile: certs.server.certFile, keyFile: certs.server.keyFile, caFile: certs.caFile, clientAuth: 'require', minVersion: 'TLSv1.3' },
      'tcp.tls',
    );
    const seen: Array<{ identity: TlsIdentity; bytes: Promise<Buffer> }> = [];
    const tlsServer = tls.createServer(ctx.serverOptions(), (socket) => {
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => chunks.push(c));
      seen.push({ identity: tlsIdentity(socket), bytes: new Promise((resolve) => socket.on('end', () => (socket.end(), resolve(Buffer.concat(chunks))))) });
    });
    const headers: ProxyHeaderParser[] = [];
    const raw = net.createServer((socket) => {
      void readProxyPreamble(socket, new ProxyHeaderParser('v2'), 2000).then((outcome) => {
        if (!outcome.ok) return socket.destroy();
        headers.push(outcome.header);
        tlsServer.emit('connection', socket);
      });
    });
    await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
    const port = (raw.address() as net.AddressInfo).port;
    try {
      const header = encodeV2({ command: 1, family: 2, source: ipv6Bytes('2001:db8::77'), destination: ipv6Bytes('2001:db8::1'), sourcePort: 5555, destinationPort: 7400 });
      const socket = net.connect(port, '127.0.0.1');
      await new Promise((resolve) => socket.once('connect', resolve));
      // The header and the ClientHello leave back to back, as a balancer sends them.
      socket.write(header);
      const client = tls.connect({ socket, ca: certs.ca, cert: certs.client.cert, key: certs.client.key, servername: 'localhost' });
      await new Promise((resolve) => client.once('secureConnect', resolve));
      client.end(FRAME);
      client.resume();
      while (seen.length === 0) await new Promise((r) => setImmediate(r));
      expect(await seen[0].bytes).toEqual(FRAME);
      expect(seen[0].identity).toMatchObject({ authorized: true, peer: { subject: 'CN=producer-1,O=pkt-ingest tests' } });
      expect([headers[0].sourceAddress, headers[0].sourcePort]).toEqual(['2001:db8::77', 5555]);
    } finally {
      await new Promise((r) => raw.close(r));
    }
  });
});
