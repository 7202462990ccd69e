import { describe, expect, it } from 'vitest';
import { register as globalRegister } from 'prom-client';
import { createMetrics } from '../../src/metrics/registry.js';
import { IngestStats, REJECT_REASONS } from '../../src/metrics/ingest-stats.js';
import { FRAME_ERROR_REASONS } from '../../src/wire/reasons.js';

const HANDLERS = ['capture', 'relay'];

function setup() {
  const stats = new IngestStats(HANDLERS);
  const metrics = createMetrics(stats, { handlerNames: HANDLERS });
  return { stats, metrics };
}

/** `name{labels} value` lines of the text exposition, keyed by everything before the value. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

const CONTRACT: Array<[string, string, string[]]> = [
  ['pkt_ingest_packets_total', 'counter', []],
  ['pkt_ingest_bytes_total', 'counter', []],
  ['pkt_ingest_frame_errors_total', 'counter', ['reason']],
  ['pkt_ingest_connections_active', 'gauge', []],
  ['pkt_ingest_connections_total', 'counter', []],
  ['pkt_ingest_connections_rejected_total', 'counter', ['reason']],
  ['pkt_ingest_backpressure_pauses_total', 'counter', []],
  ['pkt_ingest_handler_errors_total', 'counter', ['handler']],
  ['pkt_ingest_ring_bytes', 'gauge', []],
  ['pkt_ingest_lag_seconds', 'histogram', []],
  ['pkt_ingest_ring_moved_bytes_total', 'counter', []],
];

describe('createMetrics', () => {
  it('declares every contract metric with its type and HELP', async () => {
    const { metrics } = setup();
    const text = await metrics.metricsText();
    for (const [name, type] of CONTRACT) {
      expect(text).toContain(`# TYPE ${name} ${type}\n`);
      expect(text).toMatch(new RegExp(`^# HELP ${name} \\S.+$`, 'm'));
    }
  });

  it('has every series at 0 from start-up, every label value included', async () => {
    const { metrics } = setup();
    const s = samples(await metrics.metricsText());
    for (const [name, type, labels] of CONTRACT) {
      if (type === 'histogram' || labels.length > 0) continue;
      expect(s.get(name), name).toBe(0);
    }
    for (const reason of FRAME_ERROR_REASONS) expect(s.get(`pkt_ingest_frame_errors_total{reason="${reason}"}`)).toBe(0);
    for (const reason of REJECT_REASONS) {
      expect(s.get(`pkt_ingest_connections_rejected_total{reason="${reason}"}`)).toBe(0);
    }
    for (const handler of HANDLERS) expect(s.get(`pkt_ingest_handler_errors_total{handler="${handler}"}`)).toBe(0);
    expect(s.get('pkt_ingest_lag_seconds_count')).toBe(0);
    expect(s.get('pkt_ingest_lag_seconds_bucket{le="0.0001"}')).toBe(0);
    expect(s.get('pkt_ingest_lag_seconds_bucket{le="60"}')).toBe(0);
    expect(s.get('pkt_ingest_lag_seconds_bucket{le="+Inf"}')).toBe(0);
  });

  it('uses exactly the contract label names', async () => {
    const { metrics } = setup();
    const json = await metrics.registry.getMetricsAsJSON();
    for (const [name, , labels] of CONTRACT) {
      const m = json.find((x) => x.name === name);
      expect(m, name).toBeDefined();
      if (String(m!.type) === 'histogram') continue;
      for (const v of m!.values) expect(Object.keys(v.labels).sort(), name).toEqual(labels);
    }
  });

  it('includes the default process and Node.js metrics, without promtool-rejected names', async () => {
    const text = await setup().metrics.metricsText();
    expect(text).toContain('# TYPE process_cpu_seconds_total counter');
    expect(text).toContain('# TYPE nodejs_heap_size_used_bytes gauge');
    expect(text).not.toMatch(/^# TYPE \S+_total gauge$/m);
  });

  it('follows stats at every scrape', async () => {
    const { stats, metrics } = setup();
    stats.packets = 10;
    stats.bytes = 1234;
    stats.frameErrors.crc_mismatch = 3;
    stats.connectionsActive = 2;
    stats.connectionsTotal = 5;
    stats.connectionsRejected.draining = 1;
    stats.backpressurePauses = 4;
    stats.handlerErrors.set('relay', 7);
    stats.ringBytes = 4096;
    stats.ringMovedBytes = 99;
    let s = samples(await metrics.metricsText());
    expect(s.get('pkt_ingest_packets_total')).toBe(10);
    expect(s.get('pkt_ingest_bytes_total')).toBe(1234);
    expect(s.get('pkt_ingest_frame_errors_total{reason="crc_mismatch"}')).toBe(3);
    expect(s.get('pkt_ingest_frame_errors_total{reason="bad_magic"}')).toBe(0);
    expect(s.get('pkt_ingest_connections_active')).toBe(2);
    expect(s.get('pkt_ingest_connections_total')).toBe(5);
    expect(s.get('pkt_ingest_connections_rejected_total{reason="draining"}')).toBe(1);
    expect(s.get('pkt_ingest_backpressure_pauses_total')).toBe(4);
    expect(s.get('pkt_ingest_handler_errors_total{handler="relay"}')).toBe(7);
    expect(s.get('pkt_ingest_handler_errors_total{handler="capture"}')).toBe(0);
    expect(s.get('pkt_ingest_ring_bytes')).toBe(4096);
    expect(s.get('pkt_ingest_ring_moved_bytes_total')).toBe(99);

    // A second scrape reports the new totals, not a sum of scrapes.
    stats.packets = 15;
    stats.frameErrors.crc_mismatch = 4;
    stats.connectionsActive = 0;
    s = samples(await metrics.metricsText());
    expect(s.get('pkt_ingest_packets_total')).toBe(15);
    expect(s.get('pkt_ingest_frame_errors_total{reason="crc_mismatch"}')).toBe(4);
    expect(s.get('pkt_ingest_connections_active')).toBe(0);
    s = samples(await metrics.metricsText());
    expect(s.get('pkt_ingest_packets_total')).toBe(15);
  });

  it('observes lag into the histogram and ignores negative or non-finite values', async () => {
    const { metrics } = setup();
    metrics.observeLag(0.0002);
    metrics.observeLag(3);
    metrics.observeLag(-1);
    metrics.observeLag(Number.NaN);
    const s = samples(await metrics.metricsText());
    expect(s.get('pkt_ingest_lag_seconds_count')).toBe(2);
    expect(s.get('pkt_ingest_lag_seconds_bucket{le="0.0001"}')).toBe(0);
    expect(s.get('pkt_ingest_lag_seconds_bucket{le="0.00025"}')).toBe(1);
    expect(s.get('pkt_ingest_lag_seconds_bucket{le="5"}')).toBe(2);
    expect(s.get('pkt_ingest_lag_seconds_sum')).toBeCloseTo(3.0002);
  });

  it('exposes the ack metrics: ACKs sent, ack-mode connections and commit latency', async () => {
    const { stats, metrics } = setup();
    let s = samples(await metrics.metricsText());
    expect(s.get('pkt_ingest_acks_total')).toBe(0);
    expect(s.get('pkt_ingest_connections_ack_mode')).toBe(0);
    expect(s.get('pkt_ingest_commit_seconds_count')).toBe(0);
    stats.acksSent = 7;
    stats.connectionsAckMode = 2;
    metrics.observeCommit(0.004);
    metrics.observeCommit(-1);
    s = samples(await metrics.metricsText());
    expect(s.get('pkt_ingest_acks_total')).toBe(7);
    expect(s.get('pkt_ingest_connections_ack_mode')).toBe(2);
    expect(s.get('pkt_ingest_commit_seconds_count')).toBe(1);
    expect(s.get('pkt_ingest_commit_seconds_bucket{le="0.005"}')).toBe(1);
  });

  it('gives each server its own registry: two in one process do not clash', async () => {
    const a = setup();
    const b = setup();
    expect(a.metrics.registry).not.toBe(b.metrics.registry);
    expect(a.metrics.registry).not.toBe(globalRegister);
    expect(globalRegister.getSingleMetric('pkt_ingest_packets_total')).toBeUndefined();
    a.stats.packets = 1;
    b.stats.packets = 2;
    a.metrics.observeLag(1);
    expect(samples(await a.metrics.metricsText()).get('pkt_ingest_packets_total')).toBe(1);
    const sb = samples(await b.metrics.metricsText());
    expect(sb.get('pkt_ingest_packets_total')).toBe(2);
    expect(sb.get('pkt_ingest_lag_seconds_count')).toBe(0);
  });

  it('reports the Prometheus 0.0.4 text content type', () => {
    expect(setup().metrics.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
  });
});
