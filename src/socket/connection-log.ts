/**
 * How a connection logs: a child logger made on first use (most connections
 * never log), bound to the connection id, the remote address and, over TLS,
 * the verified identity; and which socket errors are worth a line.
 */
import type { Logger } from 'pino';
import type { RateLimitedLog } from '../log/rate-limited-log.js';
import type { TlsIdentity } from './tls-identity.js';

export interface LoggedPeer {
  readonly id: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly tls: TlsIdentity | null;
}

export function connectionLogger(serverLog: Logger, peer: LoggedPeer): Logger {
  const remote = `${peer.remoteAddress}:${peer.remotePort}`;
  return serverLog.child(peer.tls === null ? { conn: peer.id, remote } : { conn: peer.id, remote, tls: peer.tls });
}

/** Resets are routine for producers; anything else gets a (rate-limited) line. */
export function logSocketError(rateLog: RateLimitedLog, conn: { readonly log: Logger }, err: Error): void {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ECONNRESET' || code === 'EPIPE') return;
  rateLog.warn(conn.log, `socket:${code ?? 'error'}`, { err }, 'socket error');
}
