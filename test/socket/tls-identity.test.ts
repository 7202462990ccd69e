import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { X509Certificate } from 'node:crypto';
import net from 'node:net';
import type { TcpTlsConfig } from '../../src/config/schema.js';
import { ReloadableTlsContext } from '../../src/socket/tls-context.js';
import { distinguishedName } from '../../src/socket/tls-identity.js';
import { makeTestCerts, opensslStatus, type TestCerts } from '../helpers/certs.js';
import { connectClient, startProbeServer, type ProbeServer } from '../helpers/tls-probe.js';

// Certificates come from openssl at test time: skipped without it, a failure under CI.
const openssl = opensslStatus();

describe.skipIf(!openssl.available && !openssl.required)('TLS handshakes and the identity handlers see', () => {
  let certs: TestCerts;
  const servers: ProbeServer[] = [];
  beforeAll(async () => {
    expect(openssl.available, 'openssl not found (apt-get install openssl)').toBe(true);
    certs = await makeTestCerts();
  }, 30_000);
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
    certs?.remove();
  });

  async function server(cfg: Partial<TcpTlsConfig>, handshakeTimeoutMs?: number): Promise<ProbeServer> {
    const full: TcpTlsConfig = { certFile: certs.server.certFile, keyFile: certs.server.keyFile, clientAuth: 'none', minVersion: 'TLSv1.2', ...cfg };
    const s = await startProbeServer(new ReloadableTlsContext(full, 'tcp.tls').serverOptions(handshakeTimeoutMs));
    servers.push(s);
    return s;
  }

  const requireCfg = () => ({ clientAuth: 'require' as const, caFile: certs.caFile });
  const requestCfg = () => ({ clientAuth: 'request' as const, caFile: certs.caFile });

  it('clientAuth none: the handshake completes, with no peer and not authorized', async () => {
    const s = await server({});
    const c = connectClient(s.port, { ca: certs.ca });
    expect(await s.next()).toEqual({ accepted: true, identity: { protocol: 'TLSv1.3', authorized: false, peer: null } });
    expect((await c.closed).error).toBeNull();
  });

  it('require with a good client certificate: authorized, with subject, SANs and fingerprint', async () => {
    const s = await server(requireCfg());
    const c = connectClient(s.port, { ca: certs.ca, cert: certs.client.cert, key: certs.client.key });
    const v = await s.next();
    expect(v).toEqual({
      accepted: true,
      identity: {
        protocol: 'TLSv1.3',
        authorized: true,
        peer: {
          subject: 'CN=producer-1,O=pkt-ingest tests',
          subjectAltNames: ['DNS:producer-1.test'],
          fingerprint256: new X509Certificate(certs.client.cert).fingerprint256,
        },
      },
    });
    expect(v.accepted && Object.isFrozen(v.identity) && Object.isFrozen(v.identity.peer)).toBe(true);
    await c.closed;
  });

  it('require without a client certificate: the server refuses the handshake', async () => {
    const s = await server(requireCfg());
    const c = connectClient(s.port, { ca: certs.ca });
    const v = await s.next();
    expect(v.accepted).toBe(false);
    if (!v.accepted) expect(`${v.reason} ${v.error.message}`).toMatch(/peer did not return a certificate/i);
    expect((await c.closed).error).not.toBeNull();
  });

  it('require with a certificate from another CA: refused', async () => {
    const s = await server(requireCfg());
    const c = connectClient(s.port, { ca: certs.ca, cert: certs.strangerClient.cert, key: certs.strangerClient.key });
    const v = await s.next();
    expect(v.accepted).toBe(false);
    // Node reports "socket hang up"; the verification result is on the socket.
    if (!v.accepted) expect(v.reason).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    await c.closed;
  });

  it('require with an expired certificate: refused', async () => {
    const s = await server(requireCfg());
    const c = connectClient(s.port, { ca: certs.ca, cert: certs.expiredClient.cert, key: certs.expiredClient.key });
    const v = await s.next();
    expect(v.accepted).toBe(false);
    if (!v.accepted) expect(v.reason).toBe('CERT_HAS_EXPIRED');
    await c.closed;
  });

  it('request: an expired or foreign certificate connects, not authorized, with the reason; none sent: no peer', async () => {
    const s = await server(requestCfg());
    connectClient(s.port, { ca: certs.ca, cert: certs.expiredClient.cert, key: certs.expiredClient.key });
    const expired = await s.next();
    expect(expired).toMatchObject({ accepted: true, identity: { authorized: false, authorizationError: 'CERT_HAS_EXPIRED', peer: { subject: 'CN=producer-1,O=pkt-ingest tests' } } });
    connectClient(s.port, { ca: certs.ca, cert: certs.strangerClient.cert, key: certs.strangerClient.key });
    expect(await s.next()).toMatchObject({ accepted: true, identity: { authorized: false, peer: { fingerprint256: new X509Certificate(certs.strangerClient.cert).fingerprint256 } } });
    connectClient(s.port, { ca: certs.ca });
    expect(await s.next()).toEqual({ accepted: true, identity: { protocol: 'TLSv1.3', authorized: false, peer: null } });
    connectClient(s.port, { ca: certs.ca, cert: certs.client.cert, key: certs.client.key });
    expect(await s.next()).toMatchObject({ accepted: true, identity: { authorized: true } });
  });

  it('minVersion TLSv1.3 refuses a TLSv1.2-only client; TLSv1.2 lets it in', async () => {
    const strict = await server({ minVersion: 'TLSv1.3' });
    connectClient(strict.port, { ca: certs.ca, maxVersion: 'TLSv1.2' });
    const refused = await strict.next();
    expect(refused.accepted).toBe(false);
    if (!refused.accepted) expect(refused.error.message).toMatch(/unsupported protocol|version/i);
    const lenient = await server({ minVersion: 'TLSv1.2' });
    connectClient(lenient.port, { ca: certs.ca, maxVersion: 'TLSv1.2' });
    expect(await lenient.next()).toMatchObject({ accepted: true, identity: { protocol: 'TLSv1.2' } });
  });

  it('a client that never speaks is cut off at the handshake timeout', async () => {
    const s = await server({}, 200);
    const started = performance.now();
    const silent = net.connect(s.port, '127.0.0.1');
    silent.on('error', () => {});
    const v = await s.next();
    expect(v.accepted).toBe(false);
    if (!v.accepted) expect(v.reason).toBe('ERR_TLS_HANDSHAKE_TIMEOUT');
    expect(performance.now() - started).toBeGreaterThanOrEqual(150);
    // The probe destroys the socket on tlsClientError, as the ingest server must: the client sees the close.
    await new Promise((resolve) => silent.on('close', resolve));
  }, 10_000);
});

describe('distinguishedName', () => {
  it('keeps certificate order, repeats multi-valued types, escapes RFC 4514 specials', () => {
    expect(distinguishedName({ CN: 'a', O: 'b' })).toBe('CN=a,O=b');
    expect(distinguishedName({ CN: 'x', OU: ['one', 'two'] })).toBe('CN=x,OU=one,OU=two');
    expect(distinguishedName({ CN: 'Doe, John', O: '#1 "best"+' })).toBe('CN=Doe\\, John,O=\\#1 \\"best\\"\\+');
    expect(distinguishedName(undefined)).toBe('');
  });
});
