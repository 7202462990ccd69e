/**
 * Who gets in: the checks a new socket passes before any read, their
 * counters and log lines. One per listener (TcpIngest); the accept pipeline
 * (PROXY, TLS) uses the same checks through TcpIngest's AcceptHost side.
 *
 *   draining                                      -> draining
 *   open + pending sockets >= the descriptor cap  -> fd_limit (HTTP, files keep their reserve)
 *   ... + rings timed-out handlers still hold
 *       >= tcp.maxConnections                     -> max_connections
 *   address outside tcp.allow                     -> not_allowed
 *   address at tcp.maxConnectionsPerAddress       -> per_address_limit
 *
 * State: the allowlist (swapped whole on SIGHUP), the per-address counts,
 * the descriptor cap. Connections are counted by their owner (TcpIngest).
 */
import type net from 'node:net';
import type { Logger } from 'pino';
import type { RateLimitedLog } from '../log/rate-limited-log.js';
import type { IngestStats, RejectReason } from '../metrics/ingest-stats.js';
import { AddressCounts } from './address-counts.js';
import { Allowlist } from './allowlist.js';
import { FdCap, isOutOfDescriptors } from './fd-limit.js';

export interface AdmissionLimits {
  readonly allow: readonly string[];
  readonly maxConnections: number;
  readonly maxConnectionsPerAddress: number;
}

export class Admission {
  /** tcp.allow; replaced whole on SIGHUP, checked once per connection. */
  allowlist: Allowlist;
  readonly addresses: AddressCounts;
  private readonly fds = new FdCap();

  constructor(
    private readonly limits: AdmissionLimits,
    private readonly stats: IngestStats,
    private readonly log: Logger,
    private readonly rateLog: RateLimitedLog,
  ) {
    this.allowlist = new Allowlist(limits.allow);
    this.addresses = new AddressCounts(limits.maxConnectionsPerAddress);
  }

  /** At listen: reads the descriptor limit; warns once when tcp.maxConnections does not fit. */
  start(): void {
    const tight = this.fds.start(this.limits.maxConnections);
    if (tight !== null) this.log.warn(tight.fields, tight.warning);
  }

  /** Whether one more socket fits: `sockets` open or pending, `held` rings of timed-out handlers. */
  slotRefusal(draining: boolean, sockets: number, held: number): RejectReason | null {
    if (draining) return 'draining';
    if (sockets >= this.fds.cap) return 'fd_limit';
    return this.atMaxConnections(sockets, held) ? 'max_connections' : null;
  }

  /** tcp.maxConnections is reached: open and pending sockets plus rings timed-out handlers hold. */
  atMaxConnections(sockets: number, held: number): boolean {
    return sockets + held >= this.limits.maxConnections;
  }

  /** The address checks, in order; claims the address's place when both pass. */
  addressRefusal(address: string): RejectReason | null {
    if (!this.allowlist.allows(address)) return 'not_allowed';
    return this.addresses.claim(address) ? null : 'per_address_limit';
  }

  reject(socket: net.Socket, reason: RejectReason, fields: Record<string, unknown>): void {
    this.stats.connectionsRejected[reason]++;
    this.rateLog.warn(this.log, `reject:${reason}`, { reason, ...fields }, 'connection rejected');
    socket.on('error', noop);
    socket.destroy();
  }

  /** An accept failed (libuv code, or the server's 'error'): out of descriptors counts fd_limit. */
  acceptFailed(code: number | string | undefined, err?: Error): void {
    const out = isOutOfDescriptors(code);
    if (out) this.stats.connectionsRejected.fd_limit++;
    else this.stats.acceptErrors++;
    const message = out ? 'accept failed: out of file descriptors (raise ulimit -n or lower tcp.maxConnections)' : 'accept failed';
    this.rateLog.warn(this.log, `accept:${code}`, { code, err }, message);
  }

  /** Sweep: near the cap, count descriptors again (what others opened comes off the producers' share). */
  refreshFds(producers: number): void {
    this.fds.refresh(producers);
  }
}

function noop(): void {}
