/**
 * Until the accept path applies tcp.tls, tcp.allow and tcp.proxyProtocol
 * (issue 14, phase 2), the server refuses to start with them rather than
 * run unprotected. Phase 2 replaces this file with the real tests.
 */
import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { StartupError } from '../../src/errors.js';
import { IngestServer } from '../../src/server.js';
import { testConfig } from '../helpers/live-server.js';

describe('tcp security keys not yet wired', () => {
  it.each([
    ['tcp.tls', { tls: { certFile: 'c.pem', keyFile: 'k.pem' } }],
    ['tcp.allow', { allow: ['10.0.0.0/8'] }],
    ['tcp.proxyProtocol', { proxyProtocol: 'v2' }],
  ])('%s stops the start with one line naming the key', async (key, tcp) => {
    const { config } = testConfig({ tcp: { host: '127.0.0.1', port: 0, ...tcp } });
    const server = new IngestServer({ config, logger: pino({ level: 'silent' }) });
    const err = await server.start().then(() => null, (e: unknown) => e as Error);
    expect(err).toBeInstanceOf(StartupError);
    expect(err?.message).toBe(`${key}: not supported by this build yet; fix: remove ${key} from the config (use a TLS-terminating proxy or a firewall meanwhile)`);
    await server.shutdown();
  });

  it('starts with the defaults (tls null, allow [], proxyProtocol off)', async () => {
    const { config } = testConfig();
    const server = new IngestServer({ config, logger: pino({ level: 'silent' }) });
    await expect(server.start()).resolves.toMatchObject({ tcpPort: expect.any(Number) });
    await server.shutdown();
  });
});
