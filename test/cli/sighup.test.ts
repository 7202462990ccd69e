/**
 * SIGHUP on the real `pkt-ingest serve` process: certificate rotation in the
 * middle of a TLS producer's stream. The producer's connection stays up and
 * every frame it sent is counted; a handshake after the signal sees the new
 * certificate; the process keeps serving and exits 0 on SIGTERM.
 * Needs openssl for the test certificates: skipped without it, fails under CI.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { encodeFrame } from '../../src/wire/encode.js';
import { opensslStatus, useTestCerts } from '../helpers/certs.js';
import { startChild, tempDir, type ChildServer } from '../helpers/child-server.js';
import { connectClient } from '../helpers/tls-probe.js';
import { until } from '../helpers/live-server.js';

const openssl = opensslStatus();
const BATCH = Buffer.concat(Array.from({ length: 200 }, (_, i) => encodeFrame({ sourceId: `p${i}`, destId: 'd', payload: Buffer.alloc(40, i) })));
const BATCHES = 60;

async function packetsTotal(httpPort: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const m = /^pkt_ingest_packets_total (\d+)$/m.exec(text);
  return m === null ? -1 : Number(m[1]);
}

describe.skipIf(!openssl.available && !openssl.required)('SIGHUP: TLS certificate rotation under traffic', () => {
  const certs = useTestCerts();
  let child: ChildServer | null = null;
  afterAll(() => {
    child?.child.kill('SIGKILL');
  });

  it('loses no frame and hands new handshakes the new certificate', async () => {
    const dir = tempDir();
    const certFile = path.join(dir, 'cert.pem');
    const keyFile = path.join(dir, 'key.pem');
    fs.copyFileSync(certs().server.certFile, certFile);
    fs.copyFileSync(certs().server.keyFile, keyFile);
    child = await startChild({ tcp: { host: '127.0.0.1', port: 0, tls: { certFile, keyFile } }, handlers: [], log: { level: 'info' } }, dir);
    const { tcpPort, httpPort, lines } = child;
    // The start-up line says TLS is on, with which certificate.
    const security = JSON.parse(lines.find((l) => l.includes('"msg":"tcp security"')) ?? '{}') as { tls?: { subject: string; fingerprint256: string } };
    expect(security.tls).toMatchObject({ subject: 'CN=localhost', fingerprint256: new X509Certificate(certs().server.cert).fingerprint256 });

    const producer = connectClient(tcpPort, { ca: certs().ca });
    await once(producer.socket, 'secureConnect');
    const write = (b: Buffer) => new Promise((resolve) => producer.socket.write(b, resolve));
    let sent = 0;
    for (let i = 0; i < BATCHES / 2; i++, sent += 200) await write(BATCH);

    fs.copyFileSync(certs().server2.certFile, certFile);
    fs.copyFileSync(certs().server2.keyFile, keyFile);
    child.child.kill('SIGHUP');
    // Frames keep flowing while the signal is handled.
    for (let i = BATCHES / 2; i < BATCHES; i++, sent += 200) await write(BATCH);
    await until(() => lines.some((l) => l.includes('"msg":"reloaded"')), 10_000, 'the reloaded line');
    expect(lines.find((l) => l.includes('"msg":"reloaded"'))).toContain('tcp.tls new certificate');

    const fresh = connectClient(tcpPort, { ca: certs().ca });
    fresh.socket.on('secureConnect', () => fresh.socket.end(BATCH));
    expect((await fresh.closed).peerFingerprint).toBe(new X509Certificate(certs().server2.cert).fingerprint256);
    sent += 200;

    producer.socket.end();
    expect((await producer.closed).error).toBeNull();
    // The child's count is only visible through /metrics: poll it, bounded (the last reads may still be in flight).
    let total = -1;
    for (let tries = 0; tries < 50 && total !== sent; tries++) {
      total = await packetsTotal(httpPort);
      if (total !== sent) await new Promise((r) => setTimeout(r, 100));
    }
    expect(total).toBe(sent);

    child.child.kill('SIGTERM');
    expect((await child.exited).code).toBe(0);
    child = null;
  }, 60_000);
});
