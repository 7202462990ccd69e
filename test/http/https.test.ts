import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import https from 'node:https';
import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { StartupError } from '../../src/errors.js';
import { IngestServer } from '../../src/server.js';
import { makeTestCerts, opensslStatus, type TestCerts } from '../helpers/certs.js';
import { startServer, testConfig, type LiveServer } from '../helpers/live-server.js';

function get(url: string, options: https.RequestOptions = {}): Promise<{ status: number; type: string; body: string }> {
  const client = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    client
      .get(url, options, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
      })
      .on('error', reject);
  });
}

// Certificates come from openssl at test time: skipped without it, a failure under CI.
const openssl = opensslStatus();

describe.skipIf(!openssl.available && !openssl.required)('http.tls: HTTPS for health, readiness and metrics', () => {
  let certs: TestCerts;
  let live: LiveServer;
  beforeAll(async () => {
    expect(openssl.available, 'openssl not found (apt-get install openssl)').toBe(true);
    certs = await makeTestCerts();
    live = await startServer({ http: { tls: { certFile: certs.server.certFile, keyFile: certs.server.keyFile } } });
  }, 30_000);
  afterAll(async () => {
    await live?.stop();
    certs?.remove();
  });

  it('serves /metrics over HTTPS, verified against the test CA', async () => {
    const r = await get(`https://127.0.0.1:${live.httpPort}/metrics`, { ca: certs.ca });
    expect(r.status).toBe(200);
    expect(r.type).toContain('text/plain');
    expect(r.body).toContain('pkt_ingest_packets_total');
    expect(await get(`https://localhost:${live.httpPort}/healthz`, { ca: certs.ca })).toMatchObject({ status: 200, body: '{"status":"ok"}' });
    expect((await get(`https://127.0.0.1:${live.httpPort}/readyz`, { ca: certs.ca })).status).toBe(200);
  });

  it('does not answer plain HTTP on that port, nor a client that does not trust the certificate', async () => {
    await expect(get(`http://127.0.0.1:${live.httpPort}/metrics`)).rejects.toThrow();
    await expect(get(`https://127.0.0.1:${live.httpPort}/metrics`, { ca: fs.readFileSync(certs.otherCaFile) })).rejects.toThrow(/self.signed|issuer|verify/i);
  });

  it('keeps the context reloadable for SIGHUP (the server attached it)', () => {
    expect(live.server.httpTls?.reload()).toMatchObject({ ok: true, changed: false, subject: 'CN=localhost' });
  });

  it('refuses to start with a missing certificate: one line naming http.tls.certFile, the path and the fix', async () => {
    const missing = path.join(certs.dir, 'absent.pem');
    const { config } = testConfig({ http: { tls: { certFile: missing, keyFile: certs.server.keyFile } } });
    const server = new IngestServer({ config, logger: pino({ level: 'silent' }) });
    const err = await server.start().then(() => null, (e: unknown) => e as Error);
    expect(err).toBeInstanceOf(StartupError);
    expect(err?.message).toBe(`http.tls.certFile: ${missing} not found; fix: point http.tls.certFile at a readable PEM certificate`);
    await server.shutdown();
  });
});

describe('http.host', () => {
  // 127.0.0.2 is another local address on Linux (all of 127/8 is loopback): a wildcard listener answers
  // there, one bound to 127.0.0.1 does not. The wildcard case proves the probe can reach a listener.
  it('binds the HTTP listener to the configured address only', async () => {
    const wildcard = await startServer({ http: { host: '0.0.0.0', port: 0 } });
    const bound = await startServer({ http: { host: '127.0.0.1', port: 0 } });
    try {
      expect((await get(`http://127.0.0.2:${wildcard.httpPort}/healthz`)).status).toBe(200);
      expect(bound.server['http']?.server.address()).toMatchObject({ address: '127.0.0.1', port: bound.httpPort });
      expect((await get(`http://127.0.0.1:${bound.httpPort}/healthz`)).status).toBe(200);
      await expect(get(`http://127.0.0.2:${bound.httpPort}/healthz`)).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      await Promise.all([wildcard.stop(), bound.stop()]);
    }
  });
});
