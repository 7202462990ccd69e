import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { applyReload, planReload } from '../../src/config/reload.js';
import type { Config } from '../../src/config/schema.js';
import type { Allowlist } from '../../src/socket/allowlist.js';
import { ReloadableTlsContext } from '../../src/socket/tls-context.js';
import { makeTestCerts, opensslStatus, type TestCerts } from '../helpers/certs.js';
import { testConfig } from '../helpers/live-server.js';

const config = (over: Record<string, unknown> = {}): Config => testConfig(over).config;

describe('planReload', () => {
  it('finds nothing to do between equal configs', () => {
    expect(planReload(config(), config())).toEqual({ logLevel: null, allow: null, restartKeys: [] });
  });

  it('picks up log.level and tcp.allow, and lists every other change as needing a restart', () => {
    const plan = planReload(
      config({ log: { level: 'info' } }),
      config({ log: { level: 'debug' }, tcp: { host: '127.0.0.1', port: 9, allow: ['10.0.0.0/8'] }, onFrameError: 'resync', handlers: [{ type: 'log' }] }),
    );
    expect(plan).toEqual({ logLevel: 'debug', allow: ['10.0.0.0/8'], restartKeys: ['handlers', 'onFrameError', 'tcp.port'] });
  });

  it('names changed TLS settings (the files are re-read either way)', () => {
    const tls = { certFile: 'a.pem', keyFile: 'a.key', caFile: 'ca.pem', clientAuth: 'request' };
    const plan = planReload(config({ tcp: { tls } }), config({ tcp: { tls: { ...tls, clientAuth: 'require', certFile: 'b.pem' } } }));
    expect(plan.restartKeys).toEqual(['tcp.tls.certFile', 'tcp.tls.clientAuth']);
    expect(planReload(config(), config({ http: { tls: { certFile: 'c', keyFile: 'k' } } })).restartKeys).toEqual(['http.tls']);
  });
});

describe('applyReload without TLS', () => {
  it('sets the level, swaps the allowlist, and returns the running config with only those keys changed', () => {
    const log = pino({ level: 'info' });
    let swapped: Allowlist | null = null;
    const running = config();
    const next = config({ log: { level: 'warn' }, tcp: { host: '127.0.0.1', port: 1234, allow: ['192.0.2.0/24'] } });
    const r = applyReload(running, next, { log, tcpTls: null, httpTls: null, setAllowlist: (l) => (swapped = l) });
    expect(log.level).toBe('warn');
    expect(swapped).not.toBeNull();
    expect(swapped!.allows('192.0.2.9')).toBe(true);
    expect(swapped!.allows('198.51.100.1')).toBe(false);
    expect(r.applied).toEqual(['log.level=warn', 'tcp.allow=[192.0.2.0/24]']);
    expect(r.failed).toEqual([]);
    expect(r.restartKeys).toEqual(['tcp.port']);
    expect(r.running.tcp).toEqual({ ...running.tcp, allow: ['192.0.2.0/24'] });
    expect(r.running.log.level).toBe('warn');
    expect(Object.isFrozen(r.running.tcp)).toBe(true);
    // The next reload compares against what runs: only the port is still pending.
    expect(planReload(r.running, next)).toEqual({ logLevel: null, allow: null, restartKeys: ['tcp.port'] });
  });
});

// Certificates come from openssl at test time: skipped without it, a failure under CI.
const openssl = opensslStatus();

describe.skipIf(!openssl.available && !openssl.required)('applyReload with TLS files', () => {
  let certs: TestCerts;
  beforeAll(async () => {
    expect(openssl.available, 'openssl not found (apt-get install openssl)').toBe(true);
    certs = await makeTestCerts();
  }, 30_000);
  afterAll(() => certs?.remove());

  it('re-reads both listeners files, reports a bad one and keeps the rest', () => {
    const live = { certFile: path.join(certs.dir, 'r.pem'), keyFile: path.join(certs.dir, 'r.key') };
    fs.copyFileSync(certs.server.certFile, live.certFile);
    fs.copyFileSync(certs.server.keyFile, live.keyFile);
    const tcpTls = new ReloadableTlsContext({ ...live, clientAuth: 'none', minVersion: 'TLSv1.2' }, 'tcp.tls');
    const httpTls = new ReloadableTlsContext({ certFile: certs.server.certFile, keyFile: certs.server.keyFile }, 'http.tls');
    fs.copyFileSync(certs.server2.certFile, live.certFile);
    fs.copyFileSync(certs.server.keyFile, live.keyFile);
    const r = applyReload(config(), config({ log: { level: 'error' } }), { log: pino({ level: 'info' }), tcpTls, httpTls, setAllowlist: () => {} });
    expect(r.applied[0]).toBe('log.level=error');
    expect(r.applied[1]).toMatch(/^http\.tls unchanged certificate CN=localhost /);
    expect(r.failed).toEqual([expect.stringMatching(/^tcp\.tls\.keyFile: .* does not match .*; the previous certificate stays in use$/)]);
  });
});
