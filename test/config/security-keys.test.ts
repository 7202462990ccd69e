import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load-config.js';
import { ConfigError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'pkt-ingest-security-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
/** Writes the object as a config file and loads it, as `--config` would. */
function loadObject(content: unknown) {
  const path = join(dir, `c-${n++}.json`);
  writeFileSync(path, JSON.stringify(content));
  return loadConfig({ env: {}, configPath: path });
}
function errorOf(content: unknown): string {
  try {
    loadObject(content);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).not.toContain('\n');
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('tcp.tls', () => {
  it('defaults to null (plain TCP), as do http.tls, tcp.allow [] and proxyProtocol off', () => {
    const c = loadObject({});
    expect(c.tcp.tls).toBeNull();
    expect(c.http.tls).toBeNull();
    expect(c.tcp.allow).toEqual([]);
    expect(c.tcp.proxyProtocol).toBe('off');
  });

  it('fills clientAuth none and minVersion TLSv1.2 when only the files are given', () => {
    const c = loadObject({ tcp: { tls: { certFile: 's.pem', keyFile: 's.key' } } });
    expect(c.tcp.tls).toEqual({ certFile: 's.pem', keyFile: 's.key', clientAuth: 'none', minVersion: 'TLSv1.2' });
  });

  it('takes every key', () => {
    const tls = { certFile: 's.pem', keyFile: 's.key', caFile: 'ca.pem', clientAuth: 'require', minVersion: 'TLSv1.3' };
    expect(loadObject({ tcp: { tls } }).tcp.tls).toEqual(tls);
  });

  it('names a missing certFile', () => {
    expect(errorOf({ tcp: { tls: { keyFile: 'k' } } })).toBe('config tcp.tls.certFile: missing (required: a non-empty string)');
  });

  it('names a bad clientAuth and minVersion with what is allowed', () => {
    expect(errorOf({ tcp: { tls: { certFile: 'c', keyFile: 'k', clientAuth: 'optional' } } })).toBe(
      'config tcp.tls.clientAuth: "optional" is not allowed (allowed: none, request, require)',
    );
    expect(errorOf({ tcp: { tls: { certFile: 'c', keyFile: 'k', minVersion: 'TLSv1.1' } } })).toBe(
      'config tcp.tls.minVersion: "TLSv1.1" is not allowed (allowed: TLSv1.2, TLSv1.3)',
    );
  });

  it('rejects unknown keys inside tcp.tls', () => {
    expect(errorOf({ tcp: { tls: { certFile: 'c', keyFile: 'k', ciphers: 'x' } } })).toBe(
      'config tcp.tls.ciphers: unknown key (allowed keys: certFile, keyFile, caFile, clientAuth, minVersion)',
    );
  });

  it.each(['request', 'require'])('requires caFile when clientAuth is %s', (clientAuth) => {
    expect(errorOf({ tcp: { tls: { certFile: 'c', keyFile: 'k', clientAuth } } })).toBe(
      `config tcp.tls.caFile: missing while tcp.tls.clientAuth is "${clientAuth}" (required: the PEM file of the CA that signs client certificates, or set clientAuth to "none")`,
    );
  });

  it('rejects a tls that is neither null nor an object', () => {
    expect(errorOf({ tcp: { tls: true } })).toBe('config tcp.tls: true is not an object');
  });
});

describe('http.tls', () => {
  it('takes certFile and keyFile, both required', () => {
    expect(loadObject({ http: { tls: { certFile: 'c', keyFile: 'k' } } }).http.tls).toEqual({ certFile: 'c', keyFile: 'k' });
    expect(errorOf({ http: { tls: { certFile: 'c' } } })).toBe('config http.tls.keyFile: missing (required: a non-empty string)');
    expect(errorOf({ http: { tls: { certFile: 'c', keyFile: 'k', caFile: 'x' } } })).toBe(
      'config http.tls.caFile: unknown key (allowed keys: certFile, keyFile)',
    );
  });
});

describe('tcp.allow', () => {
  it('accepts IPv4 and IPv6 blocks and single addresses', () => {
    const allow = ['10.0.0.0/8', '192.168.1.7', '0.0.0.0/0', '2001:db8::/32', '::1', '::/0', 'fe80::/10'];
    expect(loadObject({ tcp: { allow } }).tcp.allow).toEqual(allow);
  });

  it.each(['10.0.0.0/33', '2001:db8::/129', '10.0.0/8', '10.0.0.0/', '10.0.0.0/08', '10.0.0.0/-1', 'fe80::1%eth0/64', 'localhost'])('names the entry %j and what a block looks like', (entry) => {
    const message = errorOf({ tcp: { allow: ['127.0.0.1/32', entry] } });
    expect(message).toMatch(new RegExp(`^config tcp\\.allow\\[1\\]: ${JSON.stringify(entry).replace(/[.[\]/\\]/g, '\\$&')} is not a CIDR block \\(allowed: `));
    expect(message).toContain('10.0.0.0/8');
  });

  it('rejects an empty entry and a non-array', () => {
    expect(errorOf({ tcp: { allow: [''] } })).toBe('config tcp.allow[0]: "" is empty (allowed: a non-empty string)');
    expect(errorOf({ tcp: { allow: '10.0.0.0/8' } })).toBe('config tcp.allow: "10.0.0.0/8" is not an array');
  });
});

describe('tcp.proxyProtocol', () => {
  it.each(['off', 'v1', 'v2', 'any'])('accepts %s', (mode) => {
    expect(loadObject({ tcp: { proxyProtocol: mode } }).tcp.proxyProtocol).toBe(mode);
  });

  it('names a bad mode', () => {
    expect(errorOf({ tcp: { proxyProtocol: 'on' } })).toBe('config tcp.proxyProtocol: "on" is not allowed (allowed: off, v1, v2, any)');
  });
});
