/**
 * The TCP side of the server: listens, admits or rejects connections
 * (admission.ts; TLS and PROXY through accept-pipeline.ts), owns the open
 * connections and what they share (ConnectionContext), and runs the one
 * coarse timer (sweeper.ts): idle and handler timeouts, ring shedding, the
 * stall check for readiness.
 */
import net from 'node:net';
import type { Logger } from 'pino';
import { AckScheduler } from '../ack/ack-scheduler.js';
import type { Config } from '../config/schema.js';
import type { CommitMode, PacketHandler } from '../handlers/types.js';
import type { DecoderLimits } from '../frame/frame-decoder.js';
import type { ErrorPolicy } from '../frame/consumer.js';
import { HandlerErrors } from '../handlers/handler-errors.js';
import { HandlerTimeouts } from '../handlers/handler-timeout.js';
import { RateLimitedLog } from '../log/rate-limited-log.js';
import type { IngestStats, RejectReason } from '../metrics/ingest-stats.js';
import type { FrameErrorReason } from '../wire/reasons.js';
import { RingPool } from '../ring/pool.js';
import { AcceptPipeline, type AcceptHost } from './accept-pipeline.js';
import { Admission } from './admission.js';
import type { Allowlist } from './allowlist.js';
import { CoarseClock } from './coarse-clock.js';
import type { ConnectionContext, ConnectionPeer } from './connection-context.js';
import { Connection } from './connection.js';
import { onreadHooks } from './onread-hooks.js';
import { acceptWithOnread, supportsOnread } from './onread-accept.js';
import { ReadBudget } from './read-budget.js';
import { Sweeper } from './sweeper.js';
import type { ReloadableTlsContext } from './tls-context.js';

/** The config's `tcp` section (idleTimeoutMs 0 disables), plus what the decoder needs. */
export type TcpIngestOptions = Config['tcp'] & {
  readonly limits: DecoderLimits;
  readonly policy: ErrorPolicy;
  /** `auto`: onread where Node allows it; `data`: always 'data' events (tests, fallback). */
  readonly readMode?: 'auto' | 'data';
  /** tcp.tls's files, read by the server (which reloads them on SIGHUP); null or absent: plain TCP. */
  readonly tlsContext?: ReloadableTlsContext | null;
  /** Bounds on a PROXY header's arrival and on a TLS handshake (defaults in accept-pipeline.ts, tls-context.ts). */
  readonly preambleTimeoutMs?: number;
  readonly handshakeTimeoutMs?: number;
  /** limits.handlerTimeoutMs; 0 or absent disables. */
  readonly handlerTimeoutMs?: number;
};

/** Pending-connection queue; the kernel caps it at net.core.somaxconn. */
const LISTEN_BACKLOG = 4096;

export class TcpIngest implements ConnectionContext, AcceptHost {
  readonly pool: RingPool;
  readonly limits: DecoderLimits;
  readonly policy: ErrorPolicy;
  readonly stats: IngestStats;
  readonly log: Logger;
  readonly rateLog: RateLimitedLog;
  readonly handlerErrors: HandlerErrors;
  readonly clock = new CoarseClock();
  readonly readBudget = new ReadBudget();
  readonly handlers: readonly PacketHandler[];
  readonly handlerNames: readonly string[];
  readonly batchEnders: readonly number[];
  /** Acknowledgements: one scheduler for every connection's ACKs; each handler's commit mode. */
  readonly ackScheduler: AckScheduler;
  readonly commitModes: readonly CommitMode[];
  readonly observeCommit: (seconds: number) => void;
  readonly connections = new Set<Connection>();
  /** True once accepting through onread (false: 'data' events). */
  usesOnread = false;
  draining = false;

  private readonly opts: TcpIngestOptions;
  private readonly server: net.Server;
  private readonly admission: Admission;
  /** TLS and PROXY connections go through it; plain TCP is admitted directly (admit). */
  private readonly pipeline: AcceptPipeline;
  private nextId = 1;
  private readonly sweeper: Sweeper;
  /** Null when limits.handlerTimeoutMs is 0. */
  private readonly timeouts: HandlerTimeouts | null;
  private onEmpty: (() => void) | null = null;
  readonly observeLag: (seconds: number) => void;

  constructor(
    opts: TcpIngestOptions,
    stats: IngestStats,
    log: Logger,
    handlers: ReadonlyArray<{ name: string; handler: PacketHandler }>,
    observeLag: (seconds: number) => void,
    handlerErrors?: HandlerErrors,
    observeCommit: (seconds: number) => void = () => {},
  ) {
    this.opts = opts;
    this.stats = stats;
    this.log = log;
    this.handlerErrors = handlerErrors ?? new HandlerErrors(stats, new RateLimitedLog());
    this.rateLog = this.handlerErrors.rateLog;
    this.limits = opts.limits;
    this.policy = opts.policy;
    this.pool = new RingPool(opts.ringBytes);
    this.handlers = handlers.map((h) => h.handler);
    this.handlerNames = handlers.map((h) => h.name);
    this.batchEnders = this.handlers.flatMap((h, i) => (typeof h.onBatchEnd === 'function' ? [i] : []));
    this.observeLag = observeLag;
    this.observeCommit = observeCommit;
    this.commitModes = this.handlers.map((h) => h.commitMode ?? 'settle');
    this.ackScheduler = new AckScheduler(() => this.clock.wallMicros(), stats);
    this.server = net.createServer({ allowHalfOpen: false });
    const timeoutMs = opts.handlerTimeoutMs ?? 0;
    this.timeouts = timeoutMs > 0 ? new HandlerTimeouts(timeoutMs, this.handlerNames, this.handlerErrors) : null;
    this.admission = new Admission(opts, stats, log, this.rateLog);
    this.sweeper = new Sweeper(this.connections, this.clock, {
      idleTimeoutMs: opts.idleTimeoutMs,
      timeouts: this.timeouts,
      handlerTimeoutMs: timeoutMs,
      rateLog: this.rateLog,
      afterTick: (open) => this.admission.refreshFds(open),
    });
    this.pipeline = new AcceptPipeline(this, {
      proxyProtocol: opts.proxyProtocol,
      tls: opts.tlsContext ?? null,
      preambleTimeoutMs: opts.preambleTimeoutMs,
      handshakeTimeoutMs: opts.handshakeTimeoutMs,
      tlsOnread: opts.readMode !== 'data',
    });
  }

  /** Accepted sockets still in their PROXY header or TLS handshake. */
  get pendingCount(): number {
    return this.pipeline.pendingCount;
  }

  /** SIGHUP: connections accepted from now on are checked against `list`; open ones stay. */
  setAllowlist(list: Allowlist): void {
    this.admission.allowlist = list;
  }

  /** Binds; resolves with the bound port. Rejects with the listen error (EADDRINUSE...). */
  async listen(): Promise<number> {
    const server = this.server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.opts.host, port: this.opts.port, backlog: LISTEN_BACKLOG }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err: NodeJS.ErrnoException) => this.admission.acceptFailed(err.code, err));
    this.admission.start();
    const plain = this.opts.proxyProtocol === 'off' && (this.opts.tlsContext ?? null) === null;
    if (!plain) {
      server.on('connection', (socket) => this.pipeline.accept(socket));
    } else if (this.opts.readMode !== 'data' && supportsOnread(server)) {
      acceptWithOnread(server, onreadHooks, (socket) => this.admit(socket, true), (code) => this.admission.acceptFailed(code));
      this.usesOnread = true;
    } else {
      server.on('connection', (socket) => this.admit(socket, false));
    }
    this.sweeper.start();
    return (server.address() as net.AddressInfo).port;
  }

  /** Plain TCP: the admission checks, synchronously, before any read. */
  private admit(socket: net.Socket, usesOnread: boolean): void {
    const address = socket.remoteAddress ?? '';
    const reason = this.slotRefusal() ?? this.admission.addressRefusal(address);
    if (reason !== null) return this.reject(socket, reason, { remote: address });
    this.open(socket, usesOnread, { address, port: socket.remotePort ?? 0, tls: null });
  }

  /** One more socket? Pending PROXY/TLS sockets and rings timed-out handlers hold count (admission.ts). */
  slotRefusal(): RejectReason | null {
    return this.admission.slotRefusal(this.draining, this.socketCount, this.timeouts?.holding ?? 0);
  }

  private get socketCount(): number {
    return this.connections.size + this.pendingCount;
  }

  addressRefusal(address: string): RejectReason | null {
    return this.admission.addressRefusal(address);
  }

  releaseAddress(address: string): void {
    this.admission.addresses.release(address);
  }

  reject(socket: net.Socket, reason: RejectReason, fields: Record<string, unknown>): void {
    this.admission.reject(socket, reason, fields);
  }

  /** An admitted socket (its address place claimed) becomes a Connection. */
  open(socket: net.Socket, usesOnread: boolean, peer: ConnectionPeer): void {
    this.stats.connectionsTotal++;
    this.stats.connectionsActive++;
    this.connections.add(new Connection(this, socket, this.nextId++, usesOnread, peer));
  }

  connectionClosed(conn: Connection): void {
    if (!this.connections.delete(conn)) return;
    this.stats.connectionsActive--;
    this.timeouts?.finished(conn);
    this.releaseAddress(conn.remoteAddress);
    if (this.connections.size === 0) this.onEmpty?.();
  }

  /** How long every open connection has been paused by backpressure (0: not all). */
  stalledForMs(now = Date.now()): number {
    return this.sweeper.stalledForMs(now);
  }

  wallMicros(): number {
    return this.clock.wallMicros();
  }

  frameError(log: Logger, reason: FrameErrorReason, offset: number): void {
    this.stats.frameErrors[reason]++;
    this.rateLog.warn(log, `frame:${reason}`, { reason, offset }, 'invalid frame');
  }

  /** Connection slots (of maxConnections) taken by rings a handler holds past limits.handlerTimeoutMs. */
  get timedOutHolds(): number {
    return this.timeouts?.timedOut ?? 0;
  }

  /** True when new producers would be refused because timed-out holds fill maxConnections. */
  get fullOfTimedOutHolds(): boolean {
    return this.timedOutHolds > 0 && this.admission.atMaxConnections(this.socketCount, this.timeouts?.holding ?? 0);
  }

  /** True if there are connections and every one is paused by backpressure. */
  allPaused(): boolean {
    return this.sweeper.allPaused();
  }

  /** Drain: refuse new connections, wait for producers to finish, then close the rest. */
  async drain(timeoutMs: number): Promise<void> {
    this.draining = true;
    this.server.close();
    this.pipeline.closeAll();
    for (const conn of this.connections) conn.drain(); // ack mode: FINAL draining after the last commit
    if (this.connections.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.onEmpty = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    this.onEmpty = null;
    for (const conn of [...this.connections]) conn.destroy('draining');
    this.sweeper.stop();
  }

  /** Close everything now (tests, a second signal). */
  close(): void {
    this.draining = true;
    this.server.close();
    this.pipeline.closeAll();
    for (const conn of [...this.connections]) conn.destroy();
    this.sweeper.stop();
  }
}

