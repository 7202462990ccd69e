import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { ALERTS, dashboardExpressions } from './promql-metric-names.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const readYaml = <T>(file: string): T => parse(readFileSync(root + file, 'utf8')) as T;


/** CI installs promtool (Debian package `prometheus`); so does `apt-get install -y prometheus`. */
function promtool(...args: string[]): { status: number | null; output: string } {
  const run = spawnSync('promtool', args, { cwd: root, encoding: 'utf8' });
  if (run.error) throw new Error(`promtool: ${run.error.message} (install it: apt-get install -y prometheus)`);
  return { status: run.status, output: run.stdout + run.stderr };
}

function expectSuccess(...args: string[]): void {
  const { status, output } = promtool(...args);
  expect(status, `promtool ${args.join(' ')}\n${output}`).toBe(0);
}

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface ScrapeConfig {
  global: { scrape_interval: string };
  rule_files: string[];
  scrape_configs: { job_name: string; metrics_path?: string; static_configs: { targets: string[] }[] }[];
}

describe('promtool', () => {
  it.each(['config/prometheus.yml', 'config/prometheus-local.yml'])('accepts %s (and the rule files it names)', (file) => {
    expectSuccess('check', 'config', file);
  });

  it('accepts config/alerts.yml', () => {
    expectSuccess('check', 'rules', 'config/alerts.yml');
  });

  it('passes the alert unit tests in config/alerts.test.yml', () => {
    expectSuccess('test', 'rules', 'config/alerts.test.yml');
  });

  describe('the dashboard queries', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pkt-ingest-dashboard-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('parse as PromQL once Grafana variables are filled in', () => {
      // Recording rules are the cheapest way to make promtool parse an expression.
      const rules = dashboardExpressions().map((e, i) => ({
        record: `dashboard:query_${i}`,
        expr: e.expr.replace(/\$__rate_interval|\$__interval|\$__range/g, '1m'),
      }));
      const file = join(dir, 'dashboard-rules.yml');
      writeFileSync(file, stringify({ groups: [{ name: 'dashboard', rules }] }));
      expectSuccess('check', 'rules', file);
    });
  });
});

describe('alerting rules', () => {
  const doc = readYaml<{ groups: { name: string; rules: Rule[] }[] }>('config/alerts.yml');
  const rules = doc.groups.flatMap((g) => g.rules);

  it('are the pkt-ingest group with every expected alert, each with a severity and a summary', () => {
    expect(doc.groups.map((g) => g.name)).toEqual(['pkt-ingest']);
    expect(rules.map((r) => r.alert)).toEqual(ALERTS);
    for (const rule of rules) {
      expect(['warning', 'critical'], rule.alert).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary, rule.alert).toBeTruthy();
      expect(rule.annotations?.description, rule.alert).toBeTruthy();
      expect(rule.for, rule.alert).toMatch(/^\d+[smh]$/);
    }
  });

  it('put the connections threshold at 90% of tcp.maxConnections in config/default.json', () => {
    const config = JSON.parse(readFileSync(root + 'config/default.json', 'utf8')) as { tcp: { maxConnections: number } };
    const rule = rules.find((r) => r.alert === 'PktIngestConnectionsNearLimit')!;
    const threshold = Number(/>\s*(\d+)\s*$/.exec(rule.expr.trim())?.[1]);
    expect(threshold).toBe(config.tcp.maxConnections * 0.9);
    expect(rule.annotations?.description).toContain(String(threshold));
  });

  it('are each unit-tested both firing and not firing', () => {
    const tests = readYaml<{
      rule_files: string[];
      tests: { alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[];
    }>('config/alerts.test.yml');
    expect(tests.rule_files).toEqual(['alerts.yml']);
    const cases = tests.tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const alert of ALERTS) {
      const mine = cases.filter((c) => c.alertname === alert);
      expect(mine.some((c) => (c.exp_alerts ?? []).length > 0), `${alert} firing`).toBe(true);
      expect(mine.some((c) => (c.exp_alerts ?? []).length === 0), `${alert} not firing`).toBe(true);
    }
  });
});

describe('scrape configs', () => {
  it.each([
    ['config/prometheus.yml', 'pkt-ingest:7401'],
    ['config/prometheus-local.yml', '127.0.0.1:7401'],
  ])('%s scrapes job pkt-ingest at %s every 5s and loads alerts.yml', (file, target) => {
    const config = readYaml<ScrapeConfig>(file);
    expect(config.global.scrape_interval).toBe('5s');
    expect(config.rule_files).toEqual(['alerts.yml']);
    expect(config.scrape_configs).toHaveLength(1);
    const [job] = config.scrape_configs;
    expect(job.job_name).toBe('pkt-ingest');
    expect(job.metrics_path ?? '/metrics').toBe('/metrics');
    expect(job.static_configs.flatMap((s) => s.targets)).toEqual([target]);
  });
});
