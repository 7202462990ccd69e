/**
 * A real Prometheus (Debian's `prometheus` package; CI installs it) scrapes a
 * live pkt-ingest with config/prometheus-local.yml, retargeted at the test
 * server and scraping every second; its query API must see the packet
 * counter rise while a producer sends.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { Producer } from '../../src/producer/producer.js';
import { startServer, type LiveServer } from '../helpers/live-server.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MISSING = 'prometheus not installed: apt-get install prometheus';
const hasPrometheus = spawnSync('prometheus', ['--version']).status === 0;

interface PrometheusConfig {
  global: Record<string, unknown>;
  rule_files?: string[];
  scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
}

/** config/prometheus-local.yml with the target replaced, a 1 s scrape, and its rule files by absolute path. */
function scrapeConfig(httpPort: number): string {
  const config = parse(fs.readFileSync(path.join(ROOT, 'config/prometheus-local.yml'), 'utf8')) as PrometheusConfig;
  config.global.scrape_interval = '1s';
  config.rule_files = (config.rule_files ?? []).map((f) => path.resolve(ROOT, 'config', f));
  const job = config.scrape_configs.find((j) => j.job_name === 'pkt-ingest');
  if (!job) throw new Error('config/prometheus-local.yml has no pkt-ingest job');
  job.static_configs = [{ targets: [`127.0.0.1:${httpPort}`] }];
  return stringify(config);
}

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

interface QueryResult {
  status: string;
  data: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
}

let live: LiveServer | undefined;
let prometheus: ChildProcess | undefined;
let exited: Promise<unknown> | undefined;
let dir: string | undefined;
let api = '';
let output = '';

async function query(expr: string): Promise<QueryResult['data']['result']> {
  const res = await fetch(`${api}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await res.json()) as QueryResult;
  expect(body.status, JSON.stringify(body)).toBe('success');
  return body.data.result;
}

/** Polls until `read` returns a value, or fails after `ms` with Prometheus' own output. */
async function eventually<T>(read: () => Promise<T | undefined>, what: string, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const got = await read().catch(() => undefined);
    if (got !== undefined) return got;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${ms} ms waiting for ${what}; prometheus said:\n${output.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

beforeAll(async () => {
  if (!hasPrometheus) return;
  live = await startServer();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pkt-prometheus-'));
  const configFile = path.join(dir, 'prometheus.yml');
  fs.writeFileSync(configFile, scrapeConfig(live.httpPort));
  const listen = `127.0.0.1:${await freePort()}`;
  api = `http://${listen}`;
  prometheus = spawn(
    'prometheus',
    [
      `--config.file=${configFile}`,
      `--web.listen-address=${listen}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      '--log.level=warn',
    ],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  exited = once(prometheus, 'exit');
  const keep = (d: Buffer) => (output = (output + d.toString()).slice(-20_000));
  prometheus.stdout?.on('data', keep);
  prometheus.stderr?.on('data', keep);
  await eventually(async () => ((await fetch(`${api}/-/ready`)).ok ? true : undefined), 'prometheus to be ready', 15_000);
});

afterAll(async () => {
  if (prometheus && prometheus.exitCode === null && prometheus.signalCode === null) {
    prometheus.kill('SIGKILL');
    await exited;
  }
  await live?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('a real Prometheus scraping pkt-ingest', () => {
  it('is installed', () => {
    expect(hasPrometheus, MISSING).toBe(true);
  });

  it.skipIf(!hasPrometheus)('sees pkt_ingest_packets_total rise while a producer sends', async () => {
    const server = live as LiveServer;
    const instance = `127.0.0.1:${server.httpPort}`;
    // First scrape: the target is up and the counter exists at 0.
    const first = await eventually(
      async () => (await query('pkt_ingest_packets_total'))[0],
      'the first scrape of pkt_ingest_packets_total',
      10_000,
    );
    expect(first.metric).toMatchObject({ __name__: 'pkt_ingest_packets_total', job: 'pkt-ingest', instance });
    expect(Number(first.value[1])).toBe(0);
    expect((await query('up{job="pkt-ingest"}'))[0]?.value[1]).toBe('1');

    const producer = new Producer({ host: '127.0.0.1', port: server.tcpPort, reconnect: false });
    await producer.connect();
    const sent = 1000;
    for (let i = 0; i < sent; i++) {
      const frame = { sourceId: 'prom', destId: 'test', payload: Buffer.alloc(32, i & 0xff), timestamp: Date.now() * 1000 };
      if (!producer.send(frame)) await producer.drain();
    }
    await producer.close();

    const seen = await eventually(
      async () => {
        const [sample] = await query('pkt_ingest_packets_total');
        return sample && Number(sample.value[1]) === sent ? sample : undefined;
      },
      `pkt_ingest_packets_total to reach ${sent}`,
      15_000,
    );
    expect(seen.metric.instance).toBe(instance);
    const [connections] = await query('pkt_ingest_connections_total');
    expect(Number(connections.value[1])).toBe(1);
  });
});
