/** How a connection logs (src/socket/connection-log.ts): its bindings, and which socket errors get a line. */
import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { RateLimitedLog } from '../../src/log/rate-limited-log.js';
import { connectionLogger, logSocketError } from '../../src/socket/connection-log.js';
import type { TlsIdentity } from '../../src/socket/tls-identity.js';

function capture(): { log: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { log, lines };
}

const errno = (code: string): Error => Object.assign(new Error(code), { code });

describe('connectionLogger', () => {
  it('binds the connection id and remote address, and the TLS identity when there is one', () => {
    const { log, lines } = capture();
    connectionLogger(log, { id: 7, remoteAddress: '10.0.0.1', remotePort: 5000, tls: null }).info('plain');
    const tls: TlsIdentity = { protocol: 'TLSv1.3', authorized: false, peer: null };
    connectionLogger(log, { id: 8, remoteAddress: '::1', remotePort: 6000, tls }).info('tls');
    expect(lines[0]).toMatchObject({ conn: 7, remote: '10.0.0.1:5000', msg: 'plain' });
    expect(lines[0]).not.toHaveProperty('tls');
    expect(lines[1]).toMatchObject({ conn: 8, remote: '::1:6000', tls, msg: 'tls' });
  });
});

describe('logSocketError', () => {
  it('logs an unusual socket error and stays quiet about resets, without making the child logger for them', () => {
    const { log, lines } = capture();
    let made = 0;
    const conn = {
      get log() {
        made++;
        return log;
      },
    };
    const rateLog = new RateLimitedLog();
    logSocketError(rateLog, conn, errno('ECONNRESET'));
    logSocketError(rateLog, conn, errno('EPIPE'));
    expect(made).toBe(0);
    logSocketError(rateLog, conn, errno('ETIMEDOUT'));
    expect(made).toBe(1);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ msg: 'socket error', level: 40 });
  });
});
