/**
 * Admission: the order of the checks before any read, the per-address
 * places (claimed only when every check passed, released on close), and
 * what a refusal or a failed accept counts and logs.
 */
import net from 'node:net';
import os from 'node:os';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { RateLimitedLog } from '../../src/log/rate-limited-log.js';
import { IngestStats } from '../../src/metrics/ingest-stats.js';
import { Admission } from '../../src/socket/admission.js';

function admission(allow: string[] = [], maxConnections = 3, maxConnectionsPerAddress = 2) {
  const stats = new IngestStats();
  const lines: Array<{ msg: string; reason?: string; code?: unknown }> = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { a: new Admission({ allow, maxConnections, maxConnectionsPerAddress }, stats, log, new RateLimitedLog()), stats, lines };
}

describe('Admission', () => {
  it('refuses draining first, then maxConnections counting pending sockets and timed-out holds', () => {
    const { a } = admission();
    expect(a.slotRefusal(true, 0, 0)).toBe('draining');
    expect(a.slotRefusal(false, 2, 0)).toBeNull();
    expect(a.slotRefusal(false, 2, 1)).toBe('max_connections'); // a ring a timed-out handler holds takes a slot
    expect(a.slotRefusal(false, 3, 0)).toBe('max_connections');
  });

  it('checks tcp.allow before the per-address limit, and claims a place only when both pass', () => {
    const { a } = admission(['10.0.0.0/8', '::1/128']);
    expect(a.addressRefusal('192.168.1.1')).toBe('not_allowed');
    expect(a.addressRefusal('10.1.2.3')).toBeNull();
    expect(a.addressRefusal('10.1.2.3')).toBeNull();
    expect(a.addressRefusal('10.1.2.3')).toBe('per_address_limit');
    expect(a.addressRefusal('::1')).toBeNull(); // another address has its own places
    a.addresses.release('10.1.2.3');
    expect(a.addressRefusal('10.1.2.3')).toBeNull();
  });

  it('a refusal counts its reason, logs it with the fields, and destroys the socket', () => {
    const { a, stats, lines } = admission();
    const socket = new net.Socket();
    a.reject(socket, 'not_allowed', { remote: '192.0.2.1' });
    expect(socket.destroyed).toBe(true);
    expect(stats.connectionsRejected.not_allowed).toBe(1);
    expect(lines).toMatchObject([{ msg: 'connection rejected', reason: 'not_allowed', remote: '192.0.2.1' }]);
  });

  it('a failed accept counts fd_limit when descriptors ran out, accept errors otherwise, and says how to fix it', () => {
    const { a, stats, lines } = admission();
    a.acceptFailed(-os.constants.errno.EMFILE);
    a.acceptFailed('ENFILE');
    a.acceptFailed('ECONNABORTED');
    expect(stats.connectionsRejected.fd_limit).toBe(2);
    expect(stats.acceptErrors).toBe(1);
    expect(lines[0].msg).toMatch(/out of file descriptors \(raise ulimit -n or lower tcp.maxConnections\)/u);
    expect(lines[2].msg).toBe('accept failed');
  });
});
