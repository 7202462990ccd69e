import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { TcpTlsConfig } from '../../src/config/schema.js';
import { ErrorCodes, StartupError } from '../../src/errors.js';
import { ReloadableTlsContext, tlsServerOptions } from '../../src/socket/tls-context.js';
import { makeTestCerts, opensslStatus, type TestCerts } from '../helpers/certs.js';
import { connectClient, startProbeServer } from '../helpers/tls-probe.js';

// Certificates come from openssl at test time: skipped without it, a failure under CI.
const openssl = opensslStatus();

describe.skipIf(!openssl.available && !openssl.required)('ReloadableTlsContext', () => {
  let certs: TestCerts;
  beforeAll(async () => {
    expect(openssl.available, 'openssl not found (apt-get install openssl)').toBe(true);
    certs = await makeTestCerts();
  }, 30_000);
  afterAll(() => certs?.remove());

  const cfg = (over: Partial<TcpTlsConfig> = {}): TcpTlsConfig => ({
    certFile: certs.server.certFile, keyFile: certs.server.keyFile, clientAuth: 'none', minVersion: 'TLSv1.2', ...over,
  });

  /** The StartupError message building a context from `c` throws. */
  function startupError(c: TcpTlsConfig): string {
    try {
      new ReloadableTlsContext(c, 'tcp.tls');
    } catch (err) {
      expect(err).toBeInstanceOf(StartupError);
      expect((err as StartupError).code).toBe(ErrorCodes.STARTUP);
      expect((err as Error).message).not.toContain('\n');
      return (err as Error).message;
    }
    throw new Error('expected a StartupError');
  }

  it('names the key, the path and the fix for a missing file', () => {
    const missing = path.join(certs.dir, 'nope.pem');
    expect(startupError(cfg({ certFile: missing }))).toBe(`tcp.tls.certFile: ${missing} not found; fix: point tcp.tls.certFile at a readable PEM certificate`);
    expect(startupError(cfg({ keyFile: missing }))).toBe(`tcp.tls.keyFile: ${missing} not found; fix: point tcp.tls.keyFile at a readable PEM private key`);
    expect(startupError(cfg({ clientAuth: 'require', caFile: missing }))).toBe(`tcp.tls.caFile: ${missing} not found; fix: point tcp.tls.caFile at a readable PEM CA certificate`);
    expect(startupError(cfg({ certFile: certs.dir }))).toMatch(/^tcp\.tls\.certFile: .* is a directory; fix: /);
  });

  it('names a file that is not what the key says', () => {
    expect(startupError(cfg({ certFile: certs.server.keyFile }))).toBe(
      `tcp.tls.certFile: ${certs.server.keyFile} is not a PEM certificate; fix: give the PEM file (-----BEGIN CERTIFICATE-----)`,
    );
    expect(startupError(cfg({ keyFile: certs.server.certFile }))).toMatch(/^tcp\.tls\.keyFile: .* is not an unencrypted PEM private key; fix: /);
    expect(startupError(cfg({ caFile: certs.client.keyFile, clientAuth: 'require' }))).toMatch(/^tcp\.tls\.caFile: .* is not a PEM CA certificate/);
  });

  it('names a key that does not belong to the certificate', () => {
    expect(startupError(cfg({ keyFile: certs.server2.keyFile }))).toBe(
      `tcp.tls.keyFile: ${certs.server2.keyFile} does not match the certificate in ${certs.server.certFile}; fix: give the key the certificate was issued for`,
    );
  });

  it('says http.tls for the HTTP listener', () => {
    const missing = path.join(certs.dir, 'nope.pem');
    expect(() => new ReloadableTlsContext({ certFile: missing, keyFile: certs.server.keyFile }, 'http.tls')).toThrow(`http.tls.certFile: ${missing} not found`);
  });

  it('maps clientAuth to requestCert and rejectUnauthorized, and passes minVersion and the CA', () => {
    const ctx = new ReloadableTlsContext(cfg({ clientAuth: 'require', caFile: certs.caFile, minVersion: 'TLSv1.3' }), 'tcp.tls');
    const m = ctx.material;
    expect(ctx.serverOptions(1234)).toMatchObject({ requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3', handshakeTimeout: 1234, ca: m.ca });
    expect(tlsServerOptions(cfg({ clientAuth: 'request', caFile: certs.caFile }), m)).toMatchObject({ requestCert: true, rejectUnauthorized: false });
    expect(tlsServerOptions(cfg(), m)).toMatchObject({ requestCert: false, rejectUnauthorized: false, minVersion: 'TLSv1.2' });
    expect(tlsServerOptions({ certFile: 'c', keyFile: 'k' }, m)).toMatchObject({ requestCert: false, minVersion: 'TLSv1.2' });
    expect(m.subject).toBe('CN=localhost');
    expect(m.fingerprint256).toBe(new X509Certificate(certs.server.cert).fingerprint256);
  });

  it('reload(): new handshakes get the rotated certificate; a bad file leaves the old one in use', async () => {
    // Files the test rotates in place, as an operator (or cert-manager) would.
    const live = { certFile: path.join(certs.dir, 'live.pem'), keyFile: path.join(certs.dir, 'live.key') };
    fs.copyFileSync(certs.server.certFile, live.certFile);
    fs.copyFileSync(certs.server.keyFile, live.keyFile);
    const ctx = new ReloadableTlsContext(cfg(live), 'tcp.tls');
    const probe = await startProbeServer(ctx.serverOptions());
    ctx.attach(probe.server);
    const fingerprintSeen = async (): Promise<string | null> => {
      const c = connectClient(probe.port, { ca: certs.ca });
      await probe.next();
      return (await c.closed).peerFingerprint;
    };
    const first = new X509Certificate(certs.server.cert).fingerprint256;
    const second = new X509Certificate(certs.server2.cert).fingerprint256;
    try {
      expect(await fingerprintSeen()).toBe(first);
      expect(ctx.reload()).toEqual({ ok: true, changed: false, subject: 'CN=localhost', fingerprint256: first, validTo: ctx.material.validTo });

      fs.copyFileSync(certs.server2.certFile, live.certFile);
      fs.copyFileSync(certs.server2.keyFile, live.keyFile);
      expect(ctx.reload()).toMatchObject({ ok: true, changed: true, fingerprint256: second });
      expect(await fingerprintSeen()).toBe(second);

      // Half a rotation (new certificate, old key still there) is refused as a whole.
      fs.copyFileSync(certs.server.certFile, live.certFile);
      const bad = ctx.reload();
      expect(bad).toEqual({
        ok: false,
        error: `tcp.tls.keyFile: ${live.keyFile} does not match the certificate in ${live.certFile}; fix: give the key the certificate was issued for; the previous certificate stays in use`,
      });
      fs.writeFileSync(live.certFile, 'garbage');
      expect(ctx.reload()).toMatchObject({ ok: false, error: expect.stringMatching(/^tcp\.tls\.certFile: .* is not a PEM certificate/) });
      fs.rmSync(live.certFile);
      expect(ctx.reload()).toMatchObject({ ok: false, error: expect.stringMatching(/^tcp\.tls\.certFile: .* not found/) });
      expect(ctx.material.fingerprint256).toBe(second);
      expect(await fingerprintSeen()).toBe(second);
    } finally {
      await probe.close();
    }
  });
});
