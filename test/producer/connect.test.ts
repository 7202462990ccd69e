import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { X509Certificate } from 'node:crypto';
import type net from 'node:net';
import tls from 'node:tls';
import { checkClientTls, connectSocket, readyEvent } from '../../src/producer/connect.js';
import { Producer, ProducerError } from '../../src/producer/producer.js';
import { ReloadableTlsContext } from '../../src/socket/tls-context.js';
import { tlsIdentity, type TlsIdentity } from '../../src/socket/tls-identity.js';
import { encodeFrame } from '../../src/wire/encode.js';
import { makeTestCerts, opensslStatus, type TestCerts } from '../helpers/certs.js';

describe('client TLS options', () => {
  it('is ready at connect for plain TCP and at secureConnect for TLS', () => {
    expect(readyEvent(null)).toBe('connect');
    expect(readyEvent(undefined)).toBe('connect');
    expect(readyEvent({ ca: 'x' })).toBe('secureConnect');
  });

  it('names a cert without its key, an empty servername and a non-object', () => {
    expect(checkClientTls({ cert: 'c' }, 'tls')).toBe('tls.cert and tls.key go together; give both or neither');
    expect(checkClientTls({ servername: '' }, 'tls')).toBe('tls.servername is ; expected a non-empty host name');
    expect(checkClientTls('yes', 'tls')).toBe('tls is yes; expected an object { ca, cert, key, servername }');
    expect(checkClientTls(undefined, 'tls')).toBeNull();
    expect(() => new Producer({ host: '127.0.0.1', port: 1, tls: { key: 'k' } })).toThrow(ProducerError);
  });
});

// Certificates come from openssl at test time: skipped without it, a failure under CI.
const openssl = opensslStatus();

describe.skipIf(!openssl.available && !openssl.required)('Producer over TLS', () => {
  let certs: TestCerts;
  let server: tls.Server;
  let port: number;
  const seen: Array<{ identity: TlsIdentity; bytes: Promise<Buffer> }> = [];
  const arrivals: Array<() => void> = [];

  beforeAll(async () => {
    expect(openssl.available, 'openssl not found (apt-get install openssl)').toBe(true);
    certs = await makeTestCerts();
    const ctx = new ReloadableTlsContext(
      { certFile: certs.server.certFile, keyFile: certs.server.keyFile, caFile: certs.caFile, clientAuth: 'require', minVersion: 'TLSv1.3' },
      'tcp.tls',
    );
    server = tls.createServer(ctx.serverOptions(), (socket) => {
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => chunks.push(c));
      const bytes = new Promise<Buffer>((resolve) => socket.on('end', () => {
        socket.end();
        resolve(Buffer.concat(chunks));
      }));
      seen.push({ identity: tlsIdentity(socket), bytes });
      arrivals.shift()?.();
    });
    server.on('tlsClientError', (_err, socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
  }, 30_000);
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    certs?.remove();
  });

  it('delivers frames byte-exact with the client certificate the server verified', async () => {
    const before = seen.length;
    const p = new Producer({ host: '127.0.0.1', port, reconnect: false, tls: { ca: certs.ca, cert: certs.client.cert, key: certs.client.key } });
    await p.connect();
    const frames = Array.from({ length: 50 }, (_, i) => ({ sourceId: 'tls', destId: 'd', payload: Buffer.alloc(i * 37, i) }));
    for (const f of frames) if (!p.send(f)) await p.drain();
    await p.close();
    const conn = seen[before];
    expect(conn.identity).toMatchObject({ authorized: true, protocol: 'TLSv1.3', peer: { fingerprint256: new X509Certificate(certs.client.cert).fingerprint256 } });
    expect(await conn.bytes).toEqual(Buffer.concat(frames.map((f) => encodeFrame(f))));
  });

  it('checks the server name it is given against the certificate', async () => {
    const ok = connectSocket('127.0.0.1', port, { ca: certs.ca, cert: certs.client.cert, key: certs.client.key, servername: 'localhost' });
    await new Promise<void>((resolve, reject) => ok.once('secureConnect', resolve).once('error', reject));
    ok.destroy();
    const wrong = connectSocket('127.0.0.1', port, { ca: certs.ca, cert: certs.client.cert, key: certs.client.key, servername: 'elsewhere.test' });
    const err = await new Promise<Error>((resolve) => wrong.once('error', resolve));
    expect((err as Error & { code?: string }).code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
  });

  it('fails to connect, naming the cause, when the server is not signed by its CA', async () => {
    const p = new Producer({ host: '127.0.0.1', port, reconnect: false, tls: { ca: certs.strangerClient.cert, cert: certs.client.cert, key: certs.client.key } });
    const err = await p.connect().then(() => null, (e: unknown) => e as ProducerError);
    expect(err).toBeInstanceOf(ProducerError);
    expect(err?.message).toMatch(/cannot connect \(.*(self.signed|local issuer|unable to verify)/i);
  });
});
