/**
 * The accept path for connections that do not take the plain onread fast
 * path: `tcp.proxyProtocol` on, `tcp.tls` set, or readMode `data`. Each
 * step can refuse the connection with a named, counted reason; nothing is
 * read as frames until all of them passed.
 *
 *   raw socket (net.Server 'connection')
 *     | draining, or maxConnections reached (pending ones count)   -> draining / max_connections
 *     | proxyProtocol on: readProxyPreamble, bounded by a timeout  -> proxy_protocol
 *     | tcp.allow on the carried address (else the socket's)       -> not_allowed
 *     | maxConnectionsPerAddress on that same address              -> per_address_limit
 *     | tls: tlsServer.emit('connection', raw)
 *     |       tlsClientError (bad or missing certificate,
 *     |       wrong version, garbage, handshake timeout)           -> tls_handshake
 *     |       secureConnection: identity (tls-identity.ts)
 *     v host.open(socket, peer): a Connection; a TLS socket is switched to onread
 *       (cleartext copied by Node straight into the ring) unless `tlsOnread` is off
 *       or this Node lacks the internals, else on the 'data' path like PROXY sockets
 *
 * A raw socket is "pending" from accept until host.open or its rejection:
 * pending sockets hold a connection slot, so a handshake storm or a flood
 * of silent PROXY clients is bounded by tcp.maxConnections like open ones.
 *
 * State: this class owns the pending set and each pending socket's claim
 * on a per-address place; once opened, the Connection (and TcpIngest's
 * connectionClosed) owns it.
 */
import type net from 'node:net';
import tls from 'node:tls';
import type { RejectReason } from '../metrics/ingest-stats.js';
import type { ConnectionPeer } from './connection-context.js';
import { adoptOnread } from './onread-accept.js';
import { LANDING, onreadHooks } from './onread-hooks.js';
import { readProxyPreamble } from './proxy-preamble.js';
import { ProxyHeaderParser, type ProxyMode } from './proxy-protocol.js';
import { handshakeFailure, tlsIdentity } from './tls-identity.js';
import type { ReloadableTlsContext } from './tls-context.js';

/** Default bound on a PROXY header's arrival: a silent client holds its slot this long. */
export const DEFAULT_PREAMBLE_TIMEOUT_MS = 5_000;

/** What the pipeline needs of the listener (TcpIngest implements it). */
export interface AcceptHost {
  readonly draining: boolean;
  /** `draining` or `max_connections` if one more connection (pending ones included) must be refused. */
  slotRefusal(): RejectReason | null;
  /** `not_allowed` (tcp.allow) or `per_address_limit`; null: admitted, the address's place taken. */
  addressRefusal(address: string): RejectReason | null;
  releaseAddress(address: string): void;
  /** Starts a Connection on an admitted socket whose address place was claimed. */
  open(socket: net.Socket, usesOnread: boolean, peer: ConnectionPeer): void;
  /** Counts `reason`, logs it rate-limited, destroys the socket. */
  reject(socket: net.Socket, reason: RejectReason, fields: Record<string, unknown>): void;
}

export interface AcceptPipelineOptions {
  readonly proxyProtocol: 'off' | ProxyMode;
  readonly tls: ReloadableTlsContext | null;
  readonly preambleTimeoutMs?: number;
  readonly handshakeTimeoutMs?: number;
  /** TLS sockets read through onread after the handshake (false: readMode 'data'). */
  readonly tlsOnread?: boolean;
}

interface Pending {
  address: string;
  port: number;
  /** A per-address place is held for `address`. */
  claimed: boolean;
  /** Decided: refused (counted once) or opened. */
  settled: boolean;
}

const kPending = Symbol('pkt-ingest.pending');
interface RawSocket extends net.Socket {
  [kPending]?: Pending;
}

export class AcceptPipeline {
  /** Never listens: only handshakes the raw sockets handed to it. Null for plain TCP. */
  readonly tlsServer: tls.Server | null;
  private readonly pending = new Set<RawSocket>();
  private readonly host: AcceptHost;
  private readonly proxyMode: 'off' | ProxyMode;
  private readonly preambleTimeoutMs: number;
  private readonly tlsOnread: boolean;

  constructor(host: AcceptHost, opts: AcceptPipelineOptions) {
    this.host = host;
    this.proxyMode = opts.proxyProtocol;
    this.preambleTimeoutMs = opts.preambleTimeoutMs ?? DEFAULT_PREAMBLE_TIMEOUT_MS;
    this.tlsOnread = opts.tlsOnread ?? false;
    this.tlsServer = opts.tls === null ? null : this.createTlsServer(opts.tls, opts.handshakeTimeoutMs);
  }

  /** Sockets accepted and not yet opened or refused. */
  get pendingCount(): number {
    return this.pending.size;
  }

  accept(socket: net.Socket): void {
    const raw = socket as RawSocket;
    // Errors of a socket still pending end here: its outcome is decided by 'close' or the step that saw it.
    raw.on('error', noop);
    const refusal = this.host.slotRefusal();
    if (refusal !== null) return this.host.reject(raw, refusal, { remote: raw.remoteAddress });
    const record: Pending = { address: raw.remoteAddress ?? '', port: raw.remotePort ?? 0, claimed: false, settled: false };
    raw[kPending] = record;
    this.pending.add(raw);
    raw.once('close', () => this.forget(raw));
    if (this.proxyMode === 'off') this.admitPeer(raw, record);
    else void this.readPreamble(raw, record, this.proxyMode);
  }

  /** Drain or close: every pending socket goes (Connections are the listener's to close). */
  closeAll(): void {
    for (const raw of [...this.pending]) raw.destroy();
  }

  private async readPreamble(raw: RawSocket, record: Pending, mode: ProxyMode): Promise<void> {
    const outcome = await readProxyPreamble(raw, new ProxyHeaderParser(mode), this.preambleTimeoutMs);
    if (!this.pending.has(raw)) return; // closed meanwhile (drain, reset): nothing left to decide
    if (!outcome.ok) {
      return this.refuse(raw, 'proxy_protocol', { remote: `${record.address}:${record.port}`, proxy: outcome.reason });
    }
    const header = outcome.header;
    // LOCAL (a balancer's health check) and UNKNOWN carry no producer: the socket's address stands.
    if (header.kind === 'proxy') {
      record.address = header.sourceAddress;
      record.port = header.sourcePort;
    }
    if (this.host.draining) return this.refuse(raw, 'draining', { remote: record.address });
    this.admitPeer(raw, record);
  }

  /** The producer's address is known: allowlist, per-address limit, then TLS or open. */
  private admitPeer(raw: RawSocket, record: Pending): void {
    const remote = `${record.address}:${record.port}`;
    const refusal = this.host.addressRefusal(record.address);
    if (refusal !== null) return this.refuse(raw, refusal, { remote });
    record.claimed = true;
    if (this.tlsServer !== null) {
      // The handshake reads the raw socket from here (bytes a preamble read past its header were unshifted).
      this.tlsServer.emit('connection', raw);
      return;
    }
    this.handOver(raw, raw, null);
  }

  private createTlsServer(holder: ReloadableTlsContext, handshakeTimeoutMs: number | undefined): tls.Server {
    const server = tls.createServer(holder.serverOptions(handshakeTimeoutMs));
    holder.attach(server);
    server.on('secureConnection', (socket: tls.TLSSocket) => {
      const raw = parentOf(socket);
      if (raw === null || !this.pending.has(raw)) {
        socket.destroy(); // its raw socket was refused or closed while the handshake finished
        return;
      }
      this.handOver(raw, socket, tlsIdentity(socket));
    });
    server.on('tlsClientError', (err: Error & { code?: string }, socket: tls.TLSSocket) => {
      const raw = parentOf(socket);
      const record = raw?.[kPending];
      const remote = record === undefined ? socket.remoteAddress : `${record.address}:${record.port}`;
      // Counted even if the raw socket already closed (a client that hung up mid-handshake); once.
      if (raw !== null && record !== undefined && !record.settled) this.refuse(raw, 'tls_handshake', { remote, tlsError: handshakeFailure(err, socket) });
      // Node leaves the socket open after a handshake timeout: close it in every case.
      socket.destroy();
    });
    return server;
  }

  /** From pending to open: the Connection takes over the address place. */
  private handOver(raw: RawSocket, socket: net.Socket, identity: ReturnType<typeof tlsIdentity> | null): void {
    const record = raw[kPending] as Pending;
    this.pending.delete(raw);
    record.settled = true;
    // Only the TLS socket: a raw socket here was read by a PROXY preamble, through 'data'.
    const usesOnread = socket !== raw && this.tlsOnread && adoptOnread(socket, onreadHooks, LANDING);
    this.host.open(socket, usesOnread, { address: record.address, port: record.port, tls: identity });
    // A preamble read leaves the socket paused (and a paused stream ignores a new 'data' listener).
    socket.resume();
  }

  private refuse(raw: RawSocket, reason: RejectReason, fields: Record<string, unknown>): void {
    const record = raw[kPending];
    if (record !== undefined) record.settled = true;
    this.forget(raw);
    this.host.reject(raw, reason, fields);
  }

  /** Leaves the pending set, giving back the per-address place if one was taken. Idempotent. */
  private forget(raw: RawSocket): void {
    if (!this.pending.delete(raw)) return;
    const record = raw[kPending];
    if (record?.claimed === true) {
      record.claimed = false;
      this.host.releaseAddress(record.address);
    }
  }
}

/**
 * The raw socket a server-side TLSSocket wraps. Node sets `_parent` when a
 * TLSSocket is built over a net.Socket (as tls.Server does on 'connection');
 * not typed, so read defensively.
 */
function parentOf(socket: tls.TLSSocket): RawSocket | null {
  const parent = (socket as unknown as { _parent?: unknown })._parent;
  return parent !== null && typeof parent === 'object' && kPending in parent ? (parent as RawSocket) : null;
}

function noop(): void {}
