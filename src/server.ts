/**
 * The ingest server: config in, listeners up, handlers fed, drained on stop.
 * It wires the pieces (TCP ingest, handlers, metrics, HTTP) and owns the
 * lifecycle; the data path itself lives in socket/, frame/ and ring/.
 */
import type tls from 'node:tls';
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { applyReload, type ReloadResult } from './config/reload.js';
import type { Config } from './config/schema.js';
import { StartupError, StateError } from './errors.js';
import { closeHandlers, type ShutdownReport } from './handlers/close-handlers.js';
import { createHandlers } from './handlers/create-handlers.js';
import { HandlerErrors } from './handlers/handler-errors.js';
import type { PacketHandler } from './handlers/types.js';
import { createHttpApp, type Readiness } from './http/app.js';
import { RateTracker, buildStatus, type StatusSnapshot } from './http/status.js';
import { RateLimitedLog } from './log/rate-limited-log.js';
import { reportStartup } from './log/startup-report.js';
import { IngestStats } from './metrics/ingest-stats.js';
import { createMetrics, type IngestMetrics } from './metrics/registry.js';
import { TcpIngest } from './socket/tcp-ingest.js';
import { ReloadableTlsContext } from './socket/tls-context.js';

export interface IngestServerOptions {
  config: Config;
  /** Defaults to pino JSON on stdout at config.log.level. */
  logger?: Logger;
  /** `data` forces the 'data' event read path (tests of the fallback). */
  readMode?: 'auto' | 'data';
  /** Bounds on a PROXY header and a TLS handshake (tests; defaults 5 s and 10 s). */
  preambleTimeoutMs?: number;
  handshakeTimeoutMs?: number;
  /** Handler instances to use instead of building config.handlers (embedding, tests). */
  handlers?: Array<{ name: string; handler: PacketHandler }>;
}

export interface ListeningAddresses {
  tcpPort: number;
  httpPort: number;
}

type Phase = 'new' | 'starting' | 'running' | 'draining' | 'stopped';

export class IngestServer {
  readonly config: Config;
  readonly log: Logger;
  stats: IngestStats = new IngestStats();
  /** The one counter of handler errors (dispatch, HandlerContext.reportError, reportHandlerError). */
  private handlerErrors = new HandlerErrors(this.stats, new RateLimitedLog());
  metrics: IngestMetrics | null = null;
  tcp: TcpIngest | null = null;
  /** http.tls, re-read by reload() on SIGHUP; null for plain HTTP. */
  httpTls: ReloadableTlsContext | null = null;
  /** tcp.tls, re-read by reload() on SIGHUP; null for plain TCP. */
  tcpTls: ReloadableTlsContext | null = null;
  /** What runs now: the start config with what SIGHUP applied since (reload.ts owns the merge). */
  private running: Config;
  private readonly timeouts: { preambleTimeoutMs?: number; handshakeTimeoutMs?: number };
  private http: FastifyInstance | null = null;
  private handlers: Array<{ name: string; handler: PacketHandler }> = [];
  private phase: Phase = 'new';
  private readonly readMode: 'auto' | 'data';
  private readonly givenHandlers: Array<{ name: string; handler: PacketHandler }> | undefined;
  private readonly rates = new RateTracker();
  private rateTimer: NodeJS.Timeout | null = null;
  private startedAt = Date.now();
  private stopping: Promise<ShutdownReport> | null = null;
  addresses: ListeningAddresses | null = null;

  constructor(opts: IngestServerOptions) {
    this.config = opts.config;
    this.log = opts.logger ?? pino({ level: opts.config.log.level });
    this.readMode = opts.readMode ?? 'auto';
    this.givenHandlers = opts.handlers;
    this.running = opts.config;
    this.timeouts = { preambleTimeoutMs: opts.preambleTimeoutMs, handshakeTimeoutMs: opts.handshakeTimeoutMs };
  }

  async start(): Promise<ListeningAddresses> {
    if (this.phase !== 'new') throw new StateError('IngestServer.start() called twice: create a new IngestServer to start again');
    this.phase = 'starting';
    const { config, log } = this;
    try {
      // Stats first: handlers may report errors while they start.
      this.stats = new IngestStats(this.givenHandlers?.map((h) => h.name) ?? config.handlers.map((h) => h.name));
      this.handlerErrors = new HandlerErrors(this.stats, new RateLimitedLog());
      this.handlers = this.givenHandlers ?? (await createHandlers(config.handlers, log, (name, err) => this.reportHandlerError(name, err)));
      const names = this.handlers.map((h) => h.name);
      const metrics = createMetrics(this.stats, { handlerNames: names });
      this.metrics = metrics;
      // Files read now: a bad one is a StartupError naming tcp.tls.<key>, the path and the fix.
      this.tcpTls = config.tcp.tls === null ? null : new ReloadableTlsContext(config.tcp.tls, 'tcp.tls');
      this.tcp = new TcpIngest(
        { ...config.tcp, limits: config.limits, policy: config, readMode: this.readMode, tlsContext: this.tcpTls, handlerTimeoutMs: config.limits.handlerTimeoutMs, ...this.timeouts },
        this.stats,
        log,
        this.handlers,
        metrics.observeLag,
        this.handlerErrors,
        metrics.observeCommit,
      );
      // Files read now: a bad one is a StartupError naming http.tls.<key>, the path and the fix.
      this.httpTls = config.http.tls === null ? null : new ReloadableTlsContext(config.http.tls, 'http.tls');
      this.http = createHttpApp({
        logger: log,
        metrics,
        readiness: () => this.readiness(),
        status: () => this.status(),
        https: this.httpTls?.serverOptions(),
      });
      const tcpPort = await listenOrExplain('tcp', config.tcp.host, config.tcp.port, '--port / tcp.port', () =>
        (this.tcp as TcpIngest).listen(),
      );
      const httpPort = await listenOrExplain('http', config.http.host, config.http.port, '--http-port / http.port', async () => {
        const app = this.http as FastifyInstance;
        // Fastify's own line ("Server listening at <an interface address>") said nothing of the bind address.
        const listenTextResolver = (address: string) => `http reachable at ${address} (http.host ${config.http.host})`;
        await app.listen({ host: config.http.host, port: config.http.port, listenTextResolver });
        // With http.tls Fastify's server is an https.Server, a tls.Server.
        this.httpTls?.attach(app.server as unknown as tls.Server);
        const addr = app.server.address();
        return typeof addr === 'object' && addr !== null ? addr.port : config.http.port;
      });
      this.addresses = { tcpPort, httpPort };
    } catch (err) {
      await this.abortStart();
      throw err;
    }
    this.startedAt = Date.now();
    this.rateTimer = setInterval(() => this.rates.sample(performance.now(), this.stats), 1000);
    this.rateTimer.unref();
    this.rates.sample(performance.now(), this.stats);
    this.phase = 'running';
    this.reportTcpSecurity();
    // The contract wants this line at every level but silent.
    reportStartup(log, { config, embeddedHandlers: this.givenHandlers?.map((h) => h.name) ?? null, ...this.addresses });
    const level = log.isLevelEnabled('info') ? 'info' : log.level;
    if (level !== 'silent') {
      log[level as 'info']({ tcpPort: this.addresses.tcpPort, httpPort: this.addresses.httpPort, onread: this.tcp.usesOnread }, 'listening');
    }
    return this.addresses;
  }

  /** One line saying which of tcp.tls, tcp.allow and tcp.proxyProtocol are on (none: no line). */
  private reportTcpSecurity(): void {
    const { allow, proxyProtocol, tls } = this.config.tcp;
    if (tls === null && allow.length === 0 && proxyProtocol === 'off') return;
    const m = this.tcpTls?.material;
    this.log.info(
      {
        tls: tls === null || m === undefined ? null : { clientAuth: tls.clientAuth, minVersion: tls.minVersion, subject: m.subject, fingerprint256: m.fingerprint256, validTo: m.validTo },
        allow,
        proxyProtocol,
      },
      'tcp security',
    );
  }

  /**
   * Counts an error against a handler in pkt_ingest_handler_errors_total.
   * Built-in handlers get this as HandlerContext.reportError; embedders who
   * pass their own handler instances call it directly.
   */
  reportHandlerError(name: string, error: unknown): void {
    this.handlerErrors.count(name, error, this.log, 'handler reported an error');
  }

  /**
   * SIGHUP (OPERATIONS.md, Reload without a restart): TLS files, tcp.allow
   * and log.level from `next`, a freshly loaded config; open connections
   * are untouched. What applied, failed or needs a restart is logged; a
   * failure keeps the old setting. Never throws.
   */
  reload(next: Config): ReloadResult {
    const result = applyReload(this.running, next, {
      log: this.log,
      tcpTls: this.tcpTls,
      httpTls: this.httpTls,
      setAllowlist: (list) => this.tcp?.setAllowlist(list),
    });
    this.running = result.running;
    for (const error of result.failed) this.log.error({ error }, 'reload: not applied');
    // Like the start-up line: shown at every level but silent, since an operator who sent SIGHUP wants to see it.
    const level = this.log.isLevelEnabled('info') ? 'info' : this.log.level;
    if (level !== 'silent') this.log[level as 'info']({ applied: result.applied, restartNeeded: result.restartKeys }, 'reloaded');
    return result;
  }

  readiness(): Readiness {
    if (this.phase === 'new' || this.phase === 'starting') return { ready: false, reason: 'starting' };
    if (this.phase !== 'running') return { ready: false, reason: 'draining' };
    const unhealthy = this.handlers.filter((h) => h.handler.isHealthy?.() === false);
    if (this.handlers.length > 0 && unhealthy.length === this.handlers.length) {
      return { ready: false, reason: `handlers failing: ${unhealthy.map((h) => h.name).join(', ')}` };
    }
    if (this.tcp?.fullOfTimedOutHolds === true) {
      return { ready: false, reason: `full: ${this.tcp.timedOutHolds} connections' rings held by handlers past limits.handlerTimeoutMs` };
    }
    const stalledMs = this.tcp?.stalledForMs() ?? 0;
    if (stalledMs > 0 && stalledMs >= this.config.readiness.stalledMs) {
      return { ready: false, reason: 'stalled: every connection is paused by backpressure' };
    }
    return { ready: true };
  }

  status(): StatusSnapshot {
    const { stats, rates, startedAt, handlers } = this;
    return buildStatus({ stats, rates, startedAt, handlers, ready: this.readiness().ready, connections: this.tcp?.connections ?? [] });
  }

  /**
   * Graceful stop (OPERATIONS.md, Run): /readyz turns 503, the listener
   * closes, producers get most of drainTimeoutMs to finish, the rest are
   * closed; handlers flush in what is left; HTTP closes last. Resolves to
   * what the handlers could not write (the CLI exits 3 unless it is clean).
   */
  shutdown(): Promise<ShutdownReport> {
    this.stopping ??= this.drainAndStop();
    return this.stopping;
  }

  /**
   * One budget, shutdown.drainTimeoutMs, for the whole stop:
   *
   *   0 ............................ drainMs .................. budget
   *   | producers finish (drain)      | handlers flush (what is left, at least flushMs)
   *
   * flushMs is a quarter of the budget, 100 ms to 2 s; a drain that ends
   * early leaves its time to the handlers.
   */
  private async drainAndStop(): Promise<ShutdownReport> {
    if (this.phase === 'new' || this.phase === 'stopped') {
      this.phase = 'stopped';
      return { unwritten: 0, unconfirmed: [], heldBytes: 0 };
    }
    this.phase = 'draining';
    const budgetMs = this.config.shutdown.drainTimeoutMs;
    const flushMs = Math.min(2000, Math.max(100, Math.floor(budgetMs / 4)));
    const drainMs = Math.max(0, budgetMs - flushMs);
    const deadline = Date.now() + drainMs + flushMs;
    this.log.info({ drainTimeoutMs: budgetMs, drainMs, flushMs, connections: this.tcp?.connections.size ?? 0 }, 'draining');
    await this.tcp?.drain(drainMs);
    let report = await closeHandlers(this.handlers, deadline, this.log);
    // A handler's promise still pending now (no close(), or one that ignores its holds) holds delivered frames.
    await new Promise((resolve) => setImmediate(resolve)); // rejections of given-up writes release theirs first
    if (this.stats.ringBytes > 0) {
      report = { ...report, heldBytes: this.stats.ringBytes };
      this.log.error({ heldBytes: report.heldBytes }, 'delivered frames still held by a handler whose promise never settled: they may be unwritten');
    }
    if (this.rateTimer) clearInterval(this.rateTimer);
    await this.http?.close();
    this.phase = 'stopped';
    this.log.info(
      { packets: this.stats.packets, bytes: this.stats.bytes, ringBytes: this.stats.ringBytes, ...report },
      'stopped',
    );
    return report;
  }

  private async abortStart(): Promise<void> {
    this.phase = 'stopped';
    this.tcp?.close();
    await this.http?.close().catch(() => {});
    for (const { handler } of this.handlers) await Promise.resolve(handler.close?.()).catch(() => {});
  }
}

async function listenOrExplain<T>(side: string, host: string, port: number, setting: string, listen: () => Promise<T>): Promise<T> {
  try {
    return await listen();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'EADDRINUSE'
        ? `address ${host}:${port} is already in use: stop the other process or choose another port with ${setting} (0 picks a free one)`
        : code === 'EACCES'
          ? `permission denied for ${host}:${port}: use a port above 1023 (${setting})`
          : code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND'
            ? `address ${host} is not available on this machine: check --host / tcp.host and http.host`
            : `${(err as Error).message}`;
    throw new StartupError(`cannot listen for ${side}: ${why}`, { cause: err });
  }
}
