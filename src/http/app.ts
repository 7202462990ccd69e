/**
 * The operator's HTTP side: liveness, readiness, Prometheus metrics and a
 * live status view. It only reads state handed in by the server.
 */
import type { TlsOptions } from 'node:tls';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { IngestMetrics } from '../metrics/registry.js';
import type { StatusSnapshot } from './status.js';

export interface Readiness {
  ready: boolean;
  /** Why not ready, e.g. `starting` or `draining`. */
  reason?: string;
}

export interface HttpAppOptions {
  logger: Logger;
  metrics: IngestMetrics;
  readiness: () => Readiness;
  status: () => StatusSnapshot;
  /** HTTPS (http.tls): server options from ReloadableTlsContext.serverOptions(). */
  https?: TlsOptions | null;
}

export function createHttpApp(opts: HttpAppOptions): FastifyInstance {
  // Widened to Fastify's logger type so the app is a plain FastifyInstance
  // (the Logger type parameter is invariant); it is the same pino instance.
  const logger: FastifyBaseLogger = opts.logger;
  const options = {
    loggerInstance: logger,
    // A scrape every few seconds would otherwise log two lines each. (The
    // top-level `disableRequestLogging` option is deprecated in Fastify 5.)
    logController: new LogController({ disableRequestLogging: true }),
  };
  // An https.Server is an http.Server to every route here; one instance type keeps callers simple.
  const app = opts.https ? (Fastify({ ...options, https: opts.https }) as unknown as FastifyInstance) : Fastify(options);

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_req, reply) => {
    const r = opts.readiness();
    reply.header('cache-control', 'no-store');
    if (r.ready) return { status: 'ready' };
    return reply.code(503).send({ status: 'not_ready', reason: r.reason ?? 'unknown' });
  });

  app.get('/metrics', async (_req, reply) => {
    const text = await opts.metrics.metricsText();
    return reply.header('content-type', opts.metrics.contentType).header('cache-control', 'no-store').send(text);
  });

  app.get('/status', async (_req, reply) => {
    reply.header('cache-control', 'no-store');
    return opts.status();
  });

  return app;
}
