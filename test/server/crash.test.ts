import net from 'node:net';
import path from 'node:path';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/wire/encode.js';
import { inspectFile } from '../../src/inspect/inspect-file.js';
import { startChild } from '../helpers/child-server.js';

describe('crash durability', () => {
  it('leaves whole frames plus at most one torn frame when SIGKILLed mid-ingest with fsync always', async () => {
    const srv = await startChild({
      handlers: [{ type: 'capture', path: 'data/capture.pkt', fsync: 'always' }],
      log: { level: 'warn' },
    });
    const producer = net.connect(srv.tcpPort, '127.0.0.1');
    await once(producer, 'connect');
    producer.on('error', () => {});
    const frames = Array.from({ length: 64 }, (_, i) => encodeFrame({ sourceId: 'crash', destId: 'test', payload: Buffer.alloc(1000 + i * 37, i) }));
    let written = 0;
    // Keep the pipe full until the kill: bounded by count and by the kill.
    const pump = (): void => {
      while (written < 200_000 && producer.write(frames[written % frames.length])) written++;
    };
    producer.on('drain', pump);
    pump();
    for (;;) {
      const m = await (await fetch(`http://127.0.0.1:${srv.httpPort}/metrics`)).text();
      const n = Number(/^pkt_ingest_packets_total (\d+)$/m.exec(m)?.[1] ?? 0);
      if (n >= 2000) break;
    }
    srv.child.kill('SIGKILL');
    const { signal } = await srv.exited;
    producer.destroy();
    expect(signal).toBe('SIGKILL');
    const report = inspectFile(path.join(srv.dir, 'data/capture.pkt'), { maxPayloadBytes: 1 << 20, maxHeaderBytes: 4096 });
    expect(report.frames).toBeGreaterThan(0);
    // Only a torn tail may be wrong, and then it is the one error, reported by offset.
    if (report.firstError !== null) {
      expect(report.firstError.reason).toBe('truncated');
      expect(report.torn).not.toBeNull();
      expect(report.errors).toEqual({ truncated: 1 });
    }
  });
});
