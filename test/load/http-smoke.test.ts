/**
 * Smoke test of `tsx load/http.ts --quick --json`: both modes run end to end
 * (a server it starts itself, and one given with --host), the report has its
 * shape, and both sides did work.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { HttpReport, RouteStats, ScrapeCostReport, Throughput } from '../../load/http.js';
import { startServer, type LiveServer } from '../helpers/live-server.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Runs the script without blocking this process (which may host the server under test). */
async function run(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'load/http.ts', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

function expectThroughput(t: Throughput): void {
  expect(t.packets).toBeGreaterThan(0);
  expect(t.bytes).toBeGreaterThan(t.packets * 64);
  expect(t.seconds).toBeGreaterThan(0.5);
  expect(t.mpktPerSec).toBeGreaterThan(0);
  expect(t.gbPerSec).toBeGreaterThan(0);
  expect(t.serverCpuSeconds).toBeGreaterThan(0);
  expect(t.mpktPerCpuSecond).toBeGreaterThan(0);
  // Every written frame was delivered: the generator only sends valid ones.
  expect(t.packets).toBe(t.sentPackets);
}

function expectRoute(r: RouteStats): void {
  expect(r.requests).toBeGreaterThan(0);
  expect(r.reqPerSec).toBeGreaterThan(0);
  expect(r.p99Ms).toBeGreaterThanOrEqual(r.p50Ms);
  expect(r.non2xx).toBe(0);
}

let live: LiveServer | null = null;
afterEach(async () => {
  await live?.stop();
  live = null;
});

describe('load/http.ts', () => {
  it('--quick --json: ingest with and without HTTP load, autocannon on both routes', async () => {
    const { code, stdout, stderr } = await run('--quick', '--json');
    expect(code, stderr).toBe(0);
    const report = JSON.parse(stdout) as HttpReport;
    expect(report).toMatchObject({ mode: 'http', phaseSeconds: 1, rounds: 1, server: { started: true } });
    expectThroughput(report.ingest.alone);
    expectThroughput(report.ingest.withHttp.healthz);
    expectThroughput(report.ingest.withHttp.metrics);
    for (const lost of [report.ingest.lostPercent, report.ingest.lostPercentPerCpu]) {
      expect(lost).toEqual({ healthz: expect.any(Number), metrics: expect.any(Number) });
    }
    const { underIngest, alone } = report.http;
    for (const r of [underIngest.healthz, underIngest.metrics, alone.healthz, alone.metrics]) expectRoute(r);
  }, 60_000);

  it('--quick --scrape-cost --json against a running server (--host/--port/--http-port)', async () => {
    live = await startServer();
    const { code, stdout, stderr } = await run(
      '--quick', '--scrape-cost', '--json',
      '--host', '127.0.0.1', '--port', String(live.tcpPort), '--http-port', String(live.httpPort),
    );
    expect(code, stderr).toBe(0);
    const report = JSON.parse(stdout) as ScrapeCostReport;
    expect(report).toMatchObject({
      mode: 'scrape-cost',
      server: { host: '127.0.0.1', tcpPort: live.tcpPort, httpPort: live.httpPort, started: false },
    });
    expectThroughput(report.ingest.alone);
    expectThroughput(report.ingest.scraped);
    expect(report.ingest.ratio).toBeCloseTo(report.ingest.scraped.mpktPerSec / report.ingest.alone.mpktPerSec, 2);
    expect(report.scrapes.targetPerSecond).toBe(10);
    expectRoute(report.scrapes);
    expect(report.scrapes.reqPerSec).toBeLessThanOrEqual(15);
    expect(report.ingest.lostPercentPerCpu).toEqual(expect.any(Number));
    expect(report.scrapeCpu.scrapes).toBe(100);
    expect(report.scrapeCpu.msPerScrape).toBeGreaterThan(0);
    expect(report.scrapeCpu.estimatedLossPercent).toBeCloseTo(report.scrapeCpu.msPerScrape, 1);
    // The server we started counted what the report says it delivered (plus the warm-up).
    expect(live.server.stats.packets).toBeGreaterThan(report.ingest.alone.packets + report.ingest.scraped.packets);
    expect(live.server.stats.frameErrors.truncated).toBe(0);
  }, 60_000);

  it('a usage error: exit 2, one line naming the flag', async () => {
    const { code, stdout, stderr } = await run('--seconds', 'x');
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^load\/http: --seconds must be an integer 1\.\.3600, got 'x' \(see --help\)\n$/);
  });
});
