import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { httpGet, startServer } from '../helpers/live-server.js';
import { ALERTS, alertExpressions, collectExpressions, dashboardExpressions, metricNamesInPromQL } from './promql-metric-names.js';

/** The contract's metrics; histograms are listed by base name. */
const CONTRACT_METRICS = [
  'pkt_ingest_packets_total',
  'pkt_ingest_bytes_total',
  'pkt_ingest_frame_errors_total',
  'pkt_ingest_connections_active',
  'pkt_ingest_connections_total',
  'pkt_ingest_connections_rejected_total',
  'pkt_ingest_backpressure_pauses_total',
  'pkt_ingest_handler_errors_total',
  'pkt_ingest_ring_bytes',
  'pkt_ingest_acks_total',
  'pkt_ingest_connections_ack_mode',
];
const CONTRACT_HISTOGRAMS = ['pkt_ingest_lag_seconds', 'pkt_ingest_commit_seconds'];
/** Written by Prometheus itself for every target. */
const PROMETHEUS_METRICS = ['up'];

/**
 * The names a query can select in an exposition: every sample's name (so a
 * histogram brings the `_bucket`, `_sum` and `_count` it shows), plus every
 * family that is not a histogram or summary, in case it has no sample yet.
 */
function exportedNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const line of exposition.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type && type[2] !== 'histogram' && type[2] !== 'summary') names.add(type[1]);
    const sample = /^([a-zA-Z_:][\w:]*)[{ ]/.exec(line);
    if (sample) names.add(sample[1]);
  }
  return names;
}

/** What a live server's /metrics exports, plus Prometheus' own; filled in beforeAll. */
const KNOWN_METRICS = new Set<string>(PROMETHEUS_METRICS);

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pkt-promql-'));
  const live = await startServer({ handlers: [{ type: 'capture', path: join(dir, 'capture.pkt') }] });
  try {
    const res = await httpGet(live.httpPort, '/metrics');
    expect(res.status).toBe(200);
    for (const name of exportedNames(res.body)) KNOWN_METRICS.add(name);
  } finally {
    await live.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('metricNamesInPromQL', () => {
  it.each([
    ['a bare selector', 'up', ['up']],
    ['a selector with matchers', 'up{job="pkt-ingest", instance=~"a.*"} == 0', ['up']],
    ['a rate over a range', 'rate(pkt_ingest_packets_total[5m])', ['pkt_ingest_packets_total']],
    ['an aggregation with a leading by list', 'sum by (job, le) (rate(x_bucket[5m]))', ['x_bucket']],
    ['an aggregation with a trailing by list', 'sum(rate(x_bucket[5m])) by (le)', ['x_bucket']],
    ['keywords in any case', 'SUM WITHOUT (instance) (m) > BOOL 1', ['m']],
    [
      'histogram_quantile with Grafana variables',
      'histogram_quantile(0.99, sum by (le) (rate(lag_bucket{job=~"$job", instance=~"${instance}"}[$__rate_interval])))',
      ['lag_bucket'],
    ],
    ['vector matching', 'a / on (instance) group_left (version) b and ignoring (le) c', ['a', 'b', 'c']],
    ['set operators and offset', 'a unless b offset 5m or c', ['a', 'b', 'c']],
    ['absent of a comparison', 'absent(up{job="pkt-ingest"} == 1)', ['up']],
    ['subqueries and @ modifiers', 'max_over_time(deriv(x[5m])[1h:30s] @ end())', ['x']],
    ['numbers, durations and hex', '-m * 1e3 + 0x1f + .5 + 1h30m', ['m']],
    ['strings that look like PromQL', 'label_replace(up, "dst", "rate(x[5m])", "src", "(.*)")', ['up']],
    ['a matcher-only selector with __name__', '{__name__="foo", job="x"} + {__name__=~"bar.*"}', ['foo']],
    ['aggregations with parameters', 'topk(5, count_values("v", m)) or quantile(0.9, n)', ['m', 'n']],
    ['names with colons (recording rules)', 'job:pkt_ingest_packets:rate5m > 0', ['job:pkt_ingest_packets:rate5m']],
    ['comments', 'a # b c\n + d', ['a', 'd']],
    ['repeats, once', 'a / (a + b)', ['a', 'b']],
    ['no metric at all', 'vector(1) * scalar(time())', []],
  ])('finds the names in %s', (_name, expr, names) => {
    expect(metricNamesInPromQL(expr)).toEqual(names);
  });
});

describe('PromQL in the dashboard and the alerts', () => {
  const expressions = collectExpressions();

  it('collects every panel target and every rule', () => {
    expect(dashboardExpressions().length).toBeGreaterThanOrEqual(20);
    expect(alertExpressions().map((e) => e.where)).toEqual(
      ALERTS.map((alert) => `group pkt-ingest alert ${alert}`),
    );
    expect(expressions.length).toBe(dashboardExpressions().length + alertExpressions().length);
  });

  it('reads at least one metric in every expression', () => {
    const empty = expressions.filter((e) => metricNamesInPromQL(e.expr).length === 0);
    expect(empty).toEqual([]);
  });

  it('reads only metrics the server (or Prometheus) exports', () => {
    const unknown = expressions.flatMap((e) =>
      metricNamesInPromQL(e.expr)
        .filter((name) => !KNOWN_METRICS.has(name))
        .map((name) => `${e.file} ${e.where}: ${name}`),
    );
    expect(unknown).toEqual([]);
  });

  it('finds every contract metric in the live exposition', () => {
    const contract = [...CONTRACT_METRICS, ...CONTRACT_HISTOGRAMS.flatMap((h) => [`${h}_bucket`, `${h}_sum`, `${h}_count`])];
    expect(contract.filter((name) => !KNOWN_METRICS.has(name))).toEqual([]);
  });

  it('shows every contract metric somewhere on the dashboard', () => {
    const used = new Set(dashboardExpressions().flatMap((e) => metricNamesInPromQL(e.expr)));
    const contract = [...CONTRACT_METRICS, ...CONTRACT_HISTOGRAMS.map((h) => `${h}_bucket`)];
    expect(contract.filter((name) => !used.has(name))).toEqual([]);
  });
});
