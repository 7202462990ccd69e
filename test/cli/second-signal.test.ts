/**
 * A second SIGTERM/SIGINT during the shutdown exits at once with status 3
 * (the contract's "could not hand every delivered frame to every handler"),
 * not 1 (a start-up failure). The drain is held open by a connected
 * producer, so the first signal alone would not have ended the process.
 */
import { describe, expect, it } from 'vitest';
import { connect, until } from '../helpers/live-server.js';
import { startChild } from '../helpers/child-server.js';

describe('pkt-ingest serve: a second signal', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal} twice: exits 3 at once, saying frames may be lost`, async () => {
      const server = await startChild({ handlers: [], shutdown: { drainTimeoutMs: 60_000 } });
      const producer = await connect(server.tcpPort);
      producer.on('error', () => {});
      try {
        server.child.kill(signal);
        await until(() => server.lines.some((l) => l.includes('"msg":"draining"')), 10_000, 'the draining line');
        // Still running: the open connection holds the drain for up to 60 s.
        expect(server.child.exitCode).toBeNull();
        const started = Date.now();
        server.child.kill(signal);
        const { code } = await server.exited;
        expect(code).toBe(3);
        expect(Date.now() - started).toBeLessThan(5000);
        const last = JSON.parse(server.lines.find((l) => l.includes('second signal'))!) as Record<string, unknown>;
        expect(last).toMatchObject({ level: 40, signal, exitCode: 3 });
        expect(last.msg).toContain('frames delivered but not yet written may be lost');
      } finally {
        producer.destroy();
        server.child.kill('SIGKILL');
      }
    });
  }
});
