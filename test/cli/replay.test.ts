import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { captureFiles } from '../../src/capture/capture-files.js';
import { replayFrames } from '../../src/cli/replay.js';
import { parseCli } from '../../src/cli/parse-args.js';
import { Producer } from '../../src/producer/producer.js';
import { startServer, until, type LiveServer } from '../helpers/live-server.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function captureServer(rotateBytes: number): Promise<{ live: LiveServer; file: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pkt-replay-'));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'capture.pkt');
  const live = await startServer({ handlers: [{ type: 'capture', path: file, fsync: 'never', rotateBytes, keepFiles: 50 }] });
  cleanups.push(() => live.stop());
  return { live, file };
}

const allBytes = (file: string): Buffer => Buffer.concat(captureFiles(file).filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f)));

describe('replay', () => {
  it('capture -> replay -> capture is byte-exact, across the first capture\'s rotated files', async () => {
    const a = await captureServer(32 * 1024);
    const producer = new Producer({ host: '127.0.0.1', port: a.live.tcpPort });
    await producer.connect();
    for (let i = 0; i < 2000; i++) {
      const ok = producer.send({ sourceId: `src-${i % 3}`, destId: 'd', timestamp: 1_700_000_000_000_000 + i, flags: i % 16, payload: Buffer.alloc(i % 200, i) });
      if (!ok) await producer.drain();
    }
    await producer.close();
    await a.live.stop(); // flushed
    const original = allBytes(a.file);
    expect(captureFiles(a.file).length).toBeGreaterThan(2);

    const b = await captureServer(256 * 1024 * 1024);
    const summary = await replayFrames({ kind: 'replay', files: [a.file], host: '127.0.0.1', port: b.live.tcpPort, rate: 0, connections: 1, acks: false });
    expect(summary).toMatchObject({ frames: 2000, bytes: original.length });
    await until(() => b.live.server.stats.packets === 2000, 5000, 'the replayed frames');
    await b.live.stop();
    expect(allBytes(b.file).equals(original)).toBe(true);
  });

  it('several connections keep each source\'s order; --rate paces the run', async () => {
    const a = await captureServer(256 * 1024 * 1024);
    const producer = new Producer({ host: '127.0.0.1', port: a.live.tcpPort });
    await producer.connect();
    for (let i = 0; i < 300; i++) producer.send({ sourceId: `s${i % 4}`, destId: 'd', timestamp: i + 1, payload: Buffer.alloc(10) });
    await producer.close();
    await a.live.stop();

    const seen = new Map<string, number[]>();
    const b = await startServer({}, {
      handlers: [{ name: 'rec', handler: { onPacket: (p) => void (seen.get(p.sourceId) ?? seen.set(p.sourceId, []).get(p.sourceId))!.push(p.timestamp) } }],
    });
    cleanups.push(() => b.stop());
    const started = performance.now();
    await replayFrames({ kind: 'replay', files: [a.file], host: '127.0.0.1', port: b.tcpPort, rate: 1000, connections: 3, acks: false });
    const seconds = (performance.now() - started) / 1000;
    expect(seconds).toBeGreaterThan(0.2); // 300 frames at 1000/s: ~0.3 s, far less unpaced
    await until(() => b.server.stats.packets === 300, 5000, 'the replayed frames');
    expect(b.server.stats.connectionsTotal).toBe(3);
    for (const [source, stamps] of seen) {
      expect(stamps, source).toEqual([...stamps].sort((x, y) => x - y));
      expect(stamps).toHaveLength(75);
    }
  });

  it('--acks: every frame acknowledged, what a FINAL left unacknowledged resent, only the ACK_REQUEST bit changed', async () => {
    const a = await captureServer(256 * 1024 * 1024);
    const producer = new Producer({ host: '127.0.0.1', port: a.live.tcpPort });
    await producer.connect();
    for (let i = 0; i < 3000; i++) producer.send({ sourceId: 's', destId: 'd', timestamp: i + 1, flags: i % 4, payload: Buffer.alloc(50, i) });
    await producer.close();
    await a.live.stop();

    // B fails frame 1000 once: that connection ends with FINAL handler_error, replay resends.
    const got: Array<{ timestamp: number; flags: number; payload: Buffer }> = [];
    let failedOnce = false;
    const b = await startServer({}, {
      handlers: [{
        name: 'rec',
        handler: {
          onPacket: (p) => {
            if (p.timestamp === 1000 && !failedOnce) {
              failedOnce = true;
              return Promise.reject(new Error('once'));
            }
            got.push({ timestamp: p.timestamp, flags: p.flags, payload: Buffer.from(p.payload) });
          },
        },
      }],
    });
    cleanups.push(() => b.stop());
    const summary = await replayFrames({ kind: 'replay', files: [a.file], host: '127.0.0.1', port: b.tcpPort, rate: 0, connections: 1, acks: true });
    expect(summary).toMatchObject({ frames: 3000, acked: 3000 });
    expect(summary.resent).toBeGreaterThan(0);
    expect(failedOnce).toBe(true);
    const stamps = new Set(got.map((g) => g.timestamp));
    for (let i = 1; i <= 3000; i++) expect(stamps.has(i), `frame ${i}`).toBe(true);
    for (const g of got) {
      expect(g.flags).toBe(((g.timestamp - 1) % 4) | 0x10);
      expect(g.payload.equals(Buffer.alloc(50, g.timestamp - 1))).toBe(true);
    }
  });

  it('usage: --acks parses; --host and --port are required', () => {
    expect(parseCli(['replay', 'f.pkt', '--host', 'h', '--port', '1', '--acks'])).toMatchObject({ kind: 'replay', acks: true });
    expect(() => parseCli(['replay', 'f.pkt', '--port', '1'])).toThrow(/--host is required/);
    expect(() => parseCli(['replay', 'f.pkt', '--host', 'h'])).toThrow(/--port is required/);
    expect(() => parseCli(['replay', 'f.pkt', '--host', 'h', '--port', '1', '--rate', '0'])).toThrow(/--rate/);
    expect(parseCli(['replay', 'a', 'b', '--host', 'h', '--port', '7', '--connections', '2'])).toEqual({
      kind: 'replay',
      files: ['a', 'b'],
      host: 'h',
      port: 7,
      rate: 0,
      connections: 2,
      acks: false,
    });
  });
});
