import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import type net from 'node:net';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../../src/errors.js';
import { ReloadableTlsContext } from '../../src/socket/tls-context.js';
import { tlsIdentity, type TlsIdentity } from '../../src/socket/tls-identity.js';
import { parseLoadArgs } from '../../load/lib/args.js';
import { FrameCounter } from '../../load/lib/frame-counter.js';
import { runLoad } from '../../load/lib/run-load.js';
import { makeTestCerts, opensslStatus, type TestCerts } from '../helpers/certs.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('parseLoadArgs TLS flags', () => {
  it.each([
    [['--ca', 'ca.pem'], /--ca needs --tls/],
    [['--servername', 'x'], /--servername needs --tls/],
    [['--tls', '--cert', 'c.pem'], /--cert and --key go together/],
    [['--tls', '--servername', ''], /--servername must not be empty/],
    [['--tls', '--ca', '/nonexistent/ca.pem'], /cannot read --ca file '\/nonexistent\/ca\.pem': ENOENT/],
  ])('rejects %j', (argv, message) => {
    expect(() => parseLoadArgs(argv)).toThrow(UsageError);
    expect(() => parseLoadArgs(argv)).toThrow(message);
  });

  it('leaves tls off without --tls, and turns it on with it', () => {
    expect((parseLoadArgs([]) as { options: { tls?: unknown } }).options.tls).toBeUndefined();
    expect(parseLoadArgs(['--tls', '--servername', 'ingest.test'])).toMatchObject({ options: { tls: { servername: 'ingest.test' } } });
  });
});

// Certificates come from openssl at test time: skipped without it, a failure under CI.
const openssl = opensslStatus();

describe.skipIf(!openssl.available && !openssl.required)('load generator over TLS', () => {
  let certs: TestCerts;
  let server: tls.Server;
  let port: number;
  const seen: Array<{ identity: TlsIdentity; frames: Promise<number> }> = [];

  beforeAll(async () => {
    expect(openssl.available, 'openssl not found (apt-get install openssl)').toBe(true);
    certs = await makeTestCerts();
    const ctx = new ReloadableTlsContext(
      { certFile: certs.server.certFile, keyFile: certs.server.keyFile, caFile: certs.caFile, clientAuth: 'require', minVersion: 'TLSv1.2' },
      'tcp.tls',
    );
    server = tls.createServer(ctx.serverOptions(), (socket) => {
      const counter = new FrameCounter();
      socket.on('data', (c: Buffer) => counter.push(c));
      socket.on('error', () => {});
      const frames = new Promise<number>((resolve) => socket.on('end', () => {
        socket.end();
        resolve(counter.frames);
      }));
      seen.push({ identity: tlsIdentity(socket), frames });
    });
    server.on('tlsClientError', (_err, socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
  }, 30_000);
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    certs?.remove();
  });

  it('runLoad sends every frame over mutual TLS', async () => {
    const before = seen.length;
    const report = await runLoad({ port, connections: 2, packets: 2001, tls: { ca: certs.ca, cert: certs.client.cert, key: certs.client.key } });
    expect(report).toMatchObject({ packets: 2001, errors: 0 });
    const mine = seen.slice(before);
    expect(mine.map((s) => s.identity.authorized)).toEqual([true, true]);
    expect((await Promise.all(mine.map((s) => s.frames))).reduce((a, b) => a + b, 0)).toBe(2001);
  });

  it('npm run load -- --tls --ca --cert --key --servername: exit 0 and the report', async () => {
    const args = ['load/loadgen.ts', '--port', String(port), '--packets', '500', '--json', '--tls',
      '--ca', certs.caFile, '--cert', certs.client.certFile, '--key', certs.client.keyFile, '--servername', 'localhost'];
    const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, ['--import', 'tsx', ...args], { cwd: ROOT }, (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ packets: 500, errors: 0 });
  }, 30_000);

  it('fails with exit status 1 and one line when the server is not trusted', async () => {
    const result = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(process.execPath, ['--import', 'tsx', 'load/loadgen.ts', '--port', String(port), '--packets', '1', '--tls',
        '--ca', certs.otherCaFile, '--cert', certs.client.certFile, '--key', certs.client.keyFile], { cwd: ROOT }, (err, _stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr }));
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^loadgen: cannot connect to 127\.0\.0\.1:\d+: .*\n$/);
  }, 30_000);
});
