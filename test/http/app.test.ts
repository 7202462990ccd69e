import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { FastifyInstance } from 'fastify';
import { createHttpApp, type Readiness } from '../../src/http/app.js';
import type { StatusSnapshot } from '../../src/http/status.js';
import { createMetrics } from '../../src/metrics/registry.js';
import { IngestStats } from '../../src/metrics/ingest-stats.js';

const SNAPSHOT: StatusSnapshot = {
  uptimeSeconds: 12.5,
  ready: true,
  totals: { packets: 10, bytes: 640, frameErrors: 1, connectionsTotal: 2, connectionsActive: 1, backpressurePauses: 0, handlerErrors: 0 },
  rates: { windowSeconds: 10, packetsPerSecond: 1, bytesPerSecond: 64, frameErrorsPerSecond: 0 },
  history: { intervalSeconds: 1, packetsPerSecond: [1, 1], bytesPerSecond: [64, 64] },
  frameErrors: {
    bad_magic: 1,
    unsupported_version: 0,
    bad_header_len: 0,
    frame_too_large: 0,
    unterminated_string: 0,
    invalid_utf8: 0,
    bad_extension: 0,
    crc_mismatch: 0,
    truncated: 0,
  },
  connectionsRejected: { max_connections: 0, draining: 0, per_address_limit: 0, not_allowed: 0, tls_handshake: 0, proxy_protocol: 0, fd_limit: 0 },
  ringBytes: 0,
  lag: { lastSeconds: 0.001, maxSeconds: 0.002, windowSeconds: 10 },
  commit: null,
  acks: null,
  handlers: [{ name: 'capture', errors: 0, healthy: true, state: null }],
  connections: [
    { id: 1, remoteAddress: '127.0.0.1', remotePort: 50000, ageSeconds: 3, packets: 10, bytes: 640, ringFill: 0.25, paused: false },
  ],
  connectionsShown: 1,
  connectionsTruncated: false,
};

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

function build(readiness: () => Readiness = () => ({ ready: true })) {
  const stats = new IngestStats(['capture']);
  const metrics = createMetrics(stats, { handlerNames: ['capture'] });
  app = createHttpApp({ logger: pino({ level: 'silent' }), metrics, readiness, status: () => SNAPSHOT });
  return { app, stats };
}

describe('createHttpApp', () => {
  it('GET /healthz -> 200 ok', async () => {
    const res = await build().app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
    expect(res.headers['content-type']).toMatch(/^application\/json/);
  });

  it('GET /readyz -> 200 when ready', async () => {
    const res = await build().app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ready' });
  });

  it('GET /readyz -> 503 with the reason, and follows readiness live', async () => {
    let state: Readiness = { ready: false, reason: 'starting' };
    const { app } = build(() => state);
    let res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ status: 'not_ready', reason: 'starting' });

    state = { ready: true };
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);

    state = { ready: false, reason: 'draining' };
    res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ status: 'not_ready', reason: 'draining' });
  });

  it('GET /metrics -> Prometheus text with the exact content type', async () => {
    const { app, stats } = build();
    stats.packets = 7;
    const res = await app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(res.body).toContain('# TYPE pkt_ingest_packets_total counter');
    expect(res.body).toMatch(/^pkt_ingest_packets_total 7$/m);
    expect(res.body).toContain('pkt_ingest_handler_errors_total{handler="capture"} 0');
  });

  it('GET /status -> the snapshot as JSON', async () => {
    const res = await build().app.inject({ method: 'GET', url: '/status' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const body = res.json() as StatusSnapshot;
    expect(body).toEqual(SNAPSHOT);
    expect(Object.keys(body).sort()).toEqual(
      [
        'acks',
        'commit',
        'connections',
        'connectionsRejected',
        'connectionsShown',
        'connectionsTruncated',
        'frameErrors',
        'handlers',
        'history',
        'lag',
        'rates',
        'ready',
        'ringBytes',
        'totals',
        'uptimeSeconds',
      ].sort(),
    );
  });

  it('unknown routes -> 404 JSON', async () => {
    const res = await build().app.inject({ method: 'GET', url: '/nope' });
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.json()).toMatchObject({ statusCode: 404 });
  });

  it('logs through the given pino instance, without per-request lines', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (s: string) => lines.push(s) });
    const metrics = createMetrics(new IngestStats(), { handlerNames: [] });
    app = createHttpApp({ logger, metrics, readiness: () => ({ ready: true }), status: () => SNAPSHOT });
    await app.inject({ method: 'GET', url: '/healthz' });
    expect(lines.filter((l) => l.includes('request completed') || l.includes('incoming request'))).toEqual([]);
    app.log.info('hello');
    expect(lines.some((l) => l.includes('"msg":"hello"'))).toBe(true);
  });
});
