import net from 'node:net';
import path from 'node:path';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/wire/encode.js';
import { inspectFile } from '../../src/inspect/inspect-file.js';
import { startChild } from '../helpers/child-server.js';

const frame = (i: number) => encodeFrame({ sourceId: 'drain', destId: 'test', payload: Buffer.alloc(500, i & 0xff), timestamp: i + 1 });
const limits = { maxPayloadBytes: 1 << 20, maxHeaderBytes: 4096 };

async function connect(port: number): Promise<net.Socket> {
  const s = net.connect(port, '127.0.0.1');
  await once(s, 'connect');
  return s;
}

describe('graceful drain (SIGTERM)', () => {
  it('turns /readyz 503, refuses new connections, reads open ones to the end, flushes, exits 0', async () => {
    const srv = await startChild({
      handlers: [{ type: 'capture', path: 'data/capture.pkt', fsync: 'never' }],
      shutdown: { drainTimeoutMs: 10_000 },
    });
    const producer = await connect(srv.tcpPort);
    for (let i = 0; i < 100; i++) producer.write(frame(i));
    // Wait until the server has counted them, so the signal lands mid-connection.
    for (;;) {
      const m = await (await fetch(`http://127.0.0.1:${srv.httpPort}/metrics`)).text();
      if (/^pkt_ingest_packets_total 100$/m.test(m)) break;
    }
    srv.child.kill('SIGTERM');
    for (;;) {
      const r = await fetch(`http://127.0.0.1:${srv.httpPort}/readyz`);
      if (r.status === 503) break;
    }
    const refused = net.connect(srv.tcpPort, '127.0.0.1');
    const [err] = (await once(refused, 'error')) as [NodeJS.ErrnoException];
    expect(err.code).toBe('ECONNREFUSED');
    // The open connection is still read until its producer closes it.
    for (let i = 100; i < 200; i++) producer.write(frame(i));
    producer.end();
    const { code } = await srv.exited;
    expect(code).toBe(0);
    const report = inspectFile(path.join(srv.dir, 'data/capture.pkt'), limits);
    expect(report.frames).toBe(200);
    expect(report.firstError).toBeNull();
  });

  it('closes producers that outlast drainTimeoutMs and still exits 0 with every complete frame flushed', async () => {
    const srv = await startChild({
      handlers: [{ type: 'capture', path: 'data/capture.pkt', fsync: 'never' }],
      shutdown: { drainTimeoutMs: 300 },
    });
    const producer = await connect(srv.tcpPort);
    producer.on('error', () => {});
    for (let i = 0; i < 50; i++) producer.write(frame(i));
    producer.write(frame(50).subarray(0, 100)); // a partial frame left hanging
    for (;;) {
      const m = await (await fetch(`http://127.0.0.1:${srv.httpPort}/metrics`)).text();
      if (/^pkt_ingest_packets_total 50$/m.test(m)) break;
    }
    srv.child.kill('SIGTERM');
    const { code } = await srv.exited;
    expect(code).toBe(0);
    const report = inspectFile(path.join(srv.dir, 'data/capture.pkt'), limits);
    expect(report.frames).toBe(50);
    expect(report.firstError).toBeNull();
    expect(srv.lines.some((l) => l.includes('"reason":"truncated"') || l.includes('truncated'))).toBe(true);
  });

  it('exits at once on a second signal', async () => {
    const srv = await startChild({ handlers: [], shutdown: { drainTimeoutMs: 60_000 } });
    const producer = await connect(srv.tcpPort);
    producer.on('error', () => {});
    srv.child.kill('SIGTERM');
    for (;;) {
      const r = await fetch(`http://127.0.0.1:${srv.httpPort}/readyz`);
      if (r.status === 503) break;
    }
    const started = Date.now();
    srv.child.kill('SIGINT');
    const { code } = await srv.exited;
    expect(Date.now() - started).toBeLessThan(5000);
    expect(code).not.toBe(0);
    producer.destroy();
  });
});
