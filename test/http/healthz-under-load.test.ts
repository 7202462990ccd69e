/** /healthz stays responsive while ingest saturates the event loop (16 producers flat out, a child load generator). */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { startServer } from '../helpers/live-server.js';

/** One GET on a fresh connection, as a probe makes it; its latency in ms. */
function probe(port: number, route: string): Promise<{ status: number; ms: number }> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: route, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - start }));
    });
    req.on('error', reject);
  });
}

describe('HTTP under saturating ingest', () => {
  // Kubernetes' default probe timeout is 1 s; the Dockerfile's HEALTHCHECK allows 3 s.
  it('GET /healthz answers within 1 s while 16 producers send flat out', async () => {
    const busy = await startServer();
    const loadgen = spawn(
      process.execPath,
      ['--import', 'tsx', 'load/loadgen.ts', '--port', String(busy.tcpPort), '--connections', '16', '--duration', '5'],
      { cwd: fileURLToPath(new URL('../..', import.meta.url)), stdio: 'ignore' },
    );
    const exited = once(loadgen, 'exit');
    try {
      const deadline = Date.now() + 10_000;
      while (busy.server.stats.packets < 1_000_000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(busy.server.stats.packets, 'the load generator got going').toBeGreaterThanOrEqual(1_000_000);
      const probes = [];
      for (let i = 0; i < 3; i++) probes.push(await probe(busy.httpPort, '/healthz'));
      expect(probes.map((p) => p.status)).toEqual([200, 200, 200]);
      expect(Math.max(...probes.map((p) => Math.round(p.ms))), 'slowest /healthz, ms').toBeLessThan(1000);
    } finally {
      loadgen.kill('SIGKILL');
      await exited;
      await busy.stop();
    }
  });
});
