/**
 * The HTTP side of a live server on loopback, as an operator and Prometheus
 * see it: every route and status code, every contract metric and label set
 * from start-up, counters against what a producer really sent, /status,
 * /readyz turning 503 while draining. (/healthz under saturating ingest:
 * healthz-under-load.test.ts.)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Producer } from '../../src/producer/producer.js';
import type { StatusSnapshot } from '../../src/http/status.js';
import { encodedLength, encodeFrame, type FrameInput } from '../../src/wire/encode.js';
import type { FrameErrorReason } from '../../src/wire/reasons.js';
import { BAD_LIMITS, badCases } from '../helpers/bad-frames.js';
import { connect, httpGet, sendAndClose, startServer, type LiveServer } from '../helpers/live-server.js';
import { scrape, scrapeUntil, value } from '../helpers/metrics-text.js';

/** docs/protocol.md's reason names, written out here so a rename in src/ cannot slip by. */
const WIRE_REASONS = [
  'bad_magic',
  'unsupported_version',
  'bad_header_len',
  'frame_too_large',
  'unterminated_string',
  'invalid_utf8',
  'bad_extension',
  'crc_mismatch',
  'truncated',
];
const REJECT_REASONS = ['max_connections', 'draining', 'per_address_limit', 'not_allowed', 'tls_handshake', 'proxy_protocol', 'fd_limit'];
const HANDLERS = ['capture', 'debug-log'];

const good = (i: number, timestamp = 0): FrameInput => ({
  sourceId: `src-${i % 3}`,
  destId: 'dst',
  payload: Buffer.alloc(10 + (i % 7) * 13, i & 0xff),
  timestamp,
});

let live: LiveServer;
let dir: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pkt-live-routes-'));
  live = await startServer({
    onFrameError: 'resync',
    limits: BAD_LIMITS,
    shutdown: { drainTimeoutMs: 30_000 },
    handlers: [
      { type: 'capture', path: path.join(dir, 'capture.pkt'), fsync: 'never' },
      { type: 'log', name: 'debug-log', level: 'debug' },
    ],
  });
});

afterAll(async () => {
  await live?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

// The tests share one server and run in order: each builds on the counters the last left.
describe('live HTTP routes', () => {
  it('GET /healthz: 200 {"status":"ok"}', async () => {
    const res = await httpGet(live.httpPort, '/healthz');
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/^application\/json/);
    expect(JSON.parse(res.body)).toEqual({ status: 'ok' });
  });

  it('GET /readyz: 200 once the TCP listener is bound', async () => {
    const res = await httpGet(live.httpPort, '/readyz');
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ status: 'ready' });
  });

  it('GET /metrics: Prometheus text, version 0.0.4', async () => {
    const res = await httpGet(live.httpPort, '/metrics');
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/^text\/plain; version=0\.0\.4(;|$)/);
  });

  it('an unknown route: 404', async () => {
    expect((await httpGet(live.httpPort, '/nope')).status).toBe(404);
  });

  it('exports every contract metric and label set at 0 from start-up', async () => {
    const { types, samples } = await scrape(live.httpPort);
    expect(Object.fromEntries([...types].filter(([name]) => name.startsWith('pkt_ingest_')))).toMatchObject({
      pkt_ingest_packets_total: 'counter',
      pkt_ingest_bytes_total: 'counter',
      pkt_ingest_frame_errors_total: 'counter',
      pkt_ingest_connections_active: 'gauge',
      pkt_ingest_connections_total: 'counter',
      pkt_ingest_connections_rejected_total: 'counter',
      pkt_ingest_backpressure_pauses_total: 'counter',
      pkt_ingest_handler_errors_total: 'counter',
      pkt_ingest_ring_bytes: 'gauge',
      pkt_ingest_lag_seconds: 'histogram',
    });
    const at = (name: string, labels?: Record<string, string>) => [
      `${name}${JSON.stringify(labels ?? {})}`,
      value(samples, name, labels),
    ];
    const series = [
      at('pkt_ingest_packets_total'),
      at('pkt_ingest_bytes_total'),
      ...WIRE_REASONS.map((reason) => at('pkt_ingest_frame_errors_total', { reason })),
      at('pkt_ingest_connections_active'),
      at('pkt_ingest_connections_total'),
      ...REJECT_REASONS.map((reason) => at('pkt_ingest_connections_rejected_total', { reason })),
      at('pkt_ingest_backpressure_pauses_total'),
      ...HANDLERS.map((handler) => at('pkt_ingest_handler_errors_total', { handler })),
      at('pkt_ingest_ring_bytes'),
      at('pkt_ingest_lag_seconds_count'),
      at('pkt_ingest_lag_seconds_sum'),
      at('pkt_ingest_lag_seconds_bucket', { le: '+Inf' }),
    ];
    expect(Object.fromEntries(series)).toEqual(Object.fromEntries(series.map(([key]) => [key, 0])));
    // Exactly those label values: no stray series.
    const labelsOf = (name: string, label: string) => samples.filter((s) => s.name === name).map((s) => s.labels[label]).sort();
    expect(labelsOf('pkt_ingest_frame_errors_total', 'reason')).toEqual([...WIRE_REASONS].sort());
    expect(labelsOf('pkt_ingest_handler_errors_total', 'handler')).toEqual([...HANDLERS].sort());
    expect(labelsOf('pkt_ingest_connections_rejected_total', 'reason')).toEqual([...REJECT_REASONS].sort());
  });

  it('counts what a producer sent: packets, wire bytes, connections, lag; /status lists the connection', async () => {
    const now = Date.now() * 1000;
    const frames = Array.from({ length: 50 }, (_, i) => good(i, now - 2000));
    const wireBytes = frames.reduce((n, f) => n + encodedLength(f), 0);
    const producer = new Producer({ host: '127.0.0.1', port: live.tcpPort, reconnect: false });
    await producer.connect();
    try {
      for (const f of frames) if (!producer.send(f)) await producer.drain();
      await producer.drain();
      const open = await scrapeUntil(live.httpPort, (s) => value(s, 'pkt_ingest_packets_total') === frames.length, '50 packets');
      expect(value(open, 'pkt_ingest_bytes_total')).toBe(wireBytes);
      expect(value(open, 'pkt_ingest_connections_active')).toBe(1);
      expect(value(open, 'pkt_ingest_connections_total')).toBe(1);

      const res = await httpGet(live.httpPort, '/status');
      expect(res.status).toBe(200);
      const status = JSON.parse(res.body) as StatusSnapshot;
      expect(status.ready).toBe(true);
      expect(status.uptimeSeconds).toBeGreaterThanOrEqual(0);
      expect(status.totals).toMatchObject({ packets: 50, bytes: wireBytes, frameErrors: 0, connectionsTotal: 1, connectionsActive: 1 });
      expect(status.rates.windowSeconds).toBe(10);
      expect(status.frameErrors.bad_magic).toBe(0);
      expect(status.lag.lastSeconds).not.toBeNull();
      expect(status.connections).toHaveLength(1);
      expect(status.connectionsShown).toBe(1);
      expect(status.connectionsTruncated).toBe(false);
      const [conn] = status.connections;
      expect(conn).toMatchObject({ remoteAddress: '127.0.0.1', packets: 50, bytes: wireBytes, paused: false });
      expect(conn.remotePort).toBeGreaterThan(0);
      expect(conn.ringFill).toBeGreaterThanOrEqual(0);
      expect(conn.ringFill).toBeLessThanOrEqual(1);
    } finally {
      await producer.close();
    }
    const closed = await scrapeUntil(live.httpPort, (s) => value(s, 'pkt_ingest_connections_active') === 0, 'the connection to close');
    expect(value(closed, 'pkt_ingest_connections_total')).toBe(1);
    expect(value(closed, 'pkt_ingest_packets_total')).toBe(50);
    expect(value(closed, 'pkt_ingest_lag_seconds_count')).toBeGreaterThan(0);
    expect(value(closed, 'pkt_ingest_lag_seconds_bucket', { le: '+Inf' })).toBe(value(closed, 'pkt_ingest_lag_seconds_count'));
    // Stamped 2 ms before sending on the same clock: well under a minute late.
    expect(value(closed, 'pkt_ingest_lag_seconds_bucket', { le: '60' })).toBe(value(closed, 'pkt_ingest_lag_seconds_count'));
    expect(value(closed, 'pkt_ingest_frame_errors_total', { reason: 'truncated' })).toBe(0);
  });

  it('counts one error per bad frame, by reason, under onFrameError resync', async () => {
    const before = (await scrape(live.httpPort)).samples;
    // The first shape of each reason, each followed by a valid frame; a torn frame last.
    const byReason = new Map(badCases().map((c) => [c.reason, c] as const).reverse());
    const stream: Buffer[] = [];
    let goodBytes = 0;
    for (const [i, c] of [...byReason.values()].entries()) {
      const next = encodeFrame(good(100 + i));
      stream.push(c.bad, next);
      goodBytes += next.length;
    }
    stream.push(encodeFrame(good(999)).subarray(0, 20));
    expect([...byReason.keys(), 'truncated'].sort()).toEqual([...WIRE_REASONS].sort());

    await sendAndClose(await connect(live.tcpPort), stream);
    const after = await scrapeUntil(live.httpPort, (s) => value(s, 'pkt_ingest_connections_active') === 0, 'the connection to close');
    const delta = (name: string, labels?: Record<string, string>) =>
      (value(after, name, labels) ?? NaN) - (value(before, name, labels) ?? NaN);
    expect(Object.fromEntries(WIRE_REASONS.map((reason) => [reason, delta('pkt_ingest_frame_errors_total', { reason })]))).toEqual(
      Object.fromEntries(WIRE_REASONS.map((reason) => [reason, 1])),
    );
    expect(delta('pkt_ingest_packets_total')).toBe(byReason.size);
    expect(delta('pkt_ingest_bytes_total')).toBe(goodBytes);
    expect(delta('pkt_ingest_connections_total')).toBe(1);
    // The capture handler may still hold the last frames' bytes for its write: released once written.
    await scrapeUntil(live.httpPort, (s) => value(s, 'pkt_ingest_ring_bytes') === 0, 'the rings to be released', 2000);
    const status = JSON.parse((await httpGet(live.httpPort, '/status')).body) as StatusSnapshot;
    expect(status.totals.frameErrors).toBe(WIRE_REASONS.length);
    for (const reason of WIRE_REASONS) expect(status.frameErrors[reason as FrameErrorReason]).toBe(1);
    expect(status.connections).toEqual([]);
  });

  it('GET /readyz: 503 while draining, while /healthz stays 200', async () => {
    const producer = await connect(live.tcpPort);
    producer.on('error', () => {});
    await scrapeUntil(live.httpPort, (s) => value(s, 'pkt_ingest_connections_active') === 1, 'the held connection');
    const stopped = live.server.shutdown();
    try {
      const deadline = Date.now() + 5000;
      let ready = await httpGet(live.httpPort, '/readyz');
      while (ready.status === 200 && Date.now() < deadline) ready = await httpGet(live.httpPort, '/readyz');
      expect(ready.status).toBe(503);
      expect(JSON.parse(ready.body)).toEqual({ status: 'not_ready', reason: 'draining' });
      expect(ready.type).toMatch(/^application\/json/);
      const health = await httpGet(live.httpPort, '/healthz');
      expect(health.status).toBe(200);
      expect(JSON.parse(health.body)).toEqual({ status: 'ok' });
      expect((await httpGet(live.httpPort, '/metrics')).status).toBe(200);
      // Still draining: the held producer keeps it from finishing.
      expect((await httpGet(live.httpPort, '/readyz')).status).toBe(503);
    } finally {
      await sendAndClose(producer, []);
    }
    await stopped;
  });
});
