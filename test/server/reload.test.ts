/**
 * IngestServer.reload (what SIGHUP calls): new TLS files for new handshakes,
 * a new tcp.allow for new connections, log.level; a bad file keeps the old
 * certificate; open connections are untouched.
 * Needs openssl for the test certificates: skipped without it, fails under CI.
 */
import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import pino from 'pino';
import { IngestServer } from '../../src/server.js';
import { encodeFrame } from '../../src/wire/encode.js';
import { opensslStatus, useTestCerts } from '../helpers/certs.js';
import { connectClient } from '../helpers/tls-probe.js';
import { Recorder, testConfig, until } from '../helpers/live-server.js';

const openssl = opensslStatus();
const FRAME = encodeFrame({ sourceId: 's', destId: 'd', payload: Buffer.alloc(32, 1) });
const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;

describe.skipIf(!openssl.available && !openssl.required)('IngestServer.reload', () => {
  const certs = useTestCerts();
  let server: IngestServer | null = null;
  let dir: string;
  afterEach(async () => {
    await server?.shutdown();
    server = null;
  });

  /** A server whose tcp.tls files are copies in its own dir (so the test can rewrite them). */
  async function start(rec: Recorder, tcp: Record<string, unknown> = {}) {
    dir = fs.mkdtempSync(path.join(certs().dir, 'reload-'));
    fs.copyFileSync(certs().server.certFile, path.join(dir, 'cert.pem'));
    fs.copyFileSync(certs().server.keyFile, path.join(dir, 'key.pem'));
    const overrides = { tcp: { tls: { certFile: path.join(dir, 'cert.pem'), keyFile: path.join(dir, 'key.pem') }, ...tcp }, log: { level: 'warn' } };
    const { config } = testConfig(overrides, dir);
    server = new IngestServer({ config, logger: pino({ level: 'warn' }, pino.destination('/dev/null')), handlers: [{ name: 'rec', handler: rec }] });
    const { tcpPort } = await server.start();
    return { tcpPort, reloadWith: (over: Record<string, unknown>) => server!.reload(testConfig({ ...overrides, ...over }, dir).config) };
  }

  /** A new handshake: the certificate fingerprint the server presented. */
  async function presented(port: number): Promise<string | null> {
    const { socket, closed } = connectClient(port, { ca: certs().ca });
    socket.on('secureConnect', () => socket.end());
    return (await closed).peerFingerprint;
  }

  it('rotates the certificate for new handshakes while an open connection keeps delivering', async () => {
    const rec = new Recorder();
    const { tcpPort, reloadWith } = await start(rec);
    const old = connectClient(tcpPort, { ca: certs().ca });
    await once(old.socket, 'secureConnect');
    old.socket.write(FRAME);
    await rec.waitFor(1);

    fs.copyFileSync(certs().server2.certFile, path.join(dir, 'cert.pem'));
    fs.copyFileSync(certs().server2.keyFile, path.join(dir, 'key.pem'));
    const result = reloadWith({});
    expect(result.failed).toEqual([]);
    expect(result.applied.join(' ')).toContain('tcp.tls new certificate');
    expect(await presented(tcpPort)).toBe(fingerprint(certs().server2.cert));

    old.socket.end(FRAME);
    expect((await old.closed).error).toBeNull();
    await rec.waitFor(2);
    expect(server?.stats.connectionsRejected.tls_handshake).toBe(0);
  });

  it('keeps the old certificate when the new key does not match, and says why', async () => {
    const { tcpPort, reloadWith } = await start(new Recorder());
    fs.copyFileSync(certs().server2.certFile, path.join(dir, 'cert.pem')); // key left as server's: a mismatch
    const result = reloadWith({});
    expect(result.failed).toHaveLength(1);
    expect(result.failed[0]).toMatch(/tcp\.tls\.keyFile: .* does not match .*previous certificate stays in use/);
    expect(await presented(tcpPort)).toBe(fingerprint(certs().server.cert));
  });

  it('applies a new tcp.allow to new connections only, and log.level', async () => {
    const rec = new Recorder();
    const { tcpPort, reloadWith } = await start(rec);
    const open = connectClient(tcpPort, { ca: certs().ca });
    await once(open.socket, 'secureConnect');
    const result = reloadWith({ tcp: { tls: { certFile: path.join(dir, 'cert.pem'), keyFile: path.join(dir, 'key.pem') }, allow: ['10.0.0.0/8'] }, log: { level: 'error' } });
    expect(result.applied).toEqual(expect.arrayContaining(['log.level=error', 'tcp.allow=[10.0.0.0/8]']));
    expect(server?.log.level).toBe('error');
    const refused = net.connect(tcpPort, '127.0.0.1');
    refused.on('error', () => {});
    refused.resume();
    await once(refused, 'close');
    expect(server?.stats.connectionsRejected.not_allowed).toBe(1);
    // The connection opened before the reload goes on.
    open.socket.end(FRAME);
    await rec.waitFor(1);
    await until(() => server?.tcp?.connections.size === 0, 5000, 'closed');
  });
});
