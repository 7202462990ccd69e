/**
 * The shutdown's handler step (src/handlers/close-handlers.ts) and the one
 * budget it shares with the drain: each handler's count of unwritten frames
 * is logged and summed, a handler that fails or outlives the deadline is
 * unconfirmed; a real server whose capture disk fills up reports exactly the
 * frames it delivered but could not write, and leaves whole frames on disk.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createCaptureHandler } from '../../src/handlers/capture-handler.js';
import { closeHandlers, shutdownWasClean } from '../../src/handlers/close-handlers.js';
import type { HandlerContext, PacketHandler } from '../../src/handlers/types.js';
import { inspectFile } from '../../src/inspect/inspect-file.js';
import { IngestServer } from '../../src/server.js';
import { nodeCaptureFs, type CaptureFs } from '../../src/sinks/capture-fs.js';
import { encodeFrame } from '../../src/wire/encode.js';
import { testConfig, until } from '../helpers/live-server.js';

/** A pino logger whose lines land in `lines`, parsed. */
function recordingLog(lines: Array<Record<string, unknown>>): pino.Logger {
  return pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
}

describe('closeHandlers', () => {
  it('logs and sums what each handler could not write; a failed or late close is unconfirmed; the clean one passes', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const told: number[] = [];
    const handlers: Array<{ name: string; handler: PacketHandler }> = [
      { name: 'clean', handler: { onPacket() {}, close: (ms) => void told.push(ms ?? -1) } },
      { name: 'lossy', handler: { onPacket() {}, close: async () => ({ unwritten: 7 }) } },
      { name: 'stuck', handler: { onPacket() {}, close: () => new Promise<void>(() => {}) } },
      { name: 'broken', handler: { onPacket() {}, close: () => Promise.reject(new Error('boom')) } },
      { name: 'plain', handler: { onPacket() {} } },
    ];
    const report = await closeHandlers(handlers, Date.now() + 200, recordingLog(lines));
    expect(report).toEqual({ unwritten: 7, unconfirmed: ['stuck', 'broken'], heldBytes: 0 });
    expect(shutdownWasClean(report)).toBe(false);
    expect(told[0], 'told less than the server waits: time to give up and count').toBeLessThanOrEqual(150);
    const byHandler = (name: string) => lines.filter((l) => l.handler === name);
    expect(byHandler('lossy')).toEqual([expect.objectContaining({ level: 50, unwritten: 7, msg: expect.stringContaining('could not write 7 delivered frames') })]);
    expect(byHandler('stuck')[0].msg).toContain('did not close within the shutdown budget');
    expect(byHandler('broken')[0].msg).toContain('failed to close');
    expect(byHandler('clean')).toEqual([]);
    expect(shutdownWasClean(await closeHandlers(handlers.slice(0, 1), Date.now() + 100, recordingLog([])))).toBe(true);
  });
});

describe('a server whose capture disk fills up, then SIGTERM-like shutdown', () => {
  it('reports exactly the delivered frames it could not write, within drainTimeoutMs, and leaves whole frames on disk', async () => {
    const frame = (i: number) => encodeFrame({ sourceId: 'full', destId: 'disk', payload: Buffer.alloc(300, i & 0xff), timestamp: i + 1 });
    let full = false;
    const disk: CaptureFs = {
      ...nodeCaptureFs,
      writev: async (fd, buffers) => {
        if (!full) return nodeCaptureFs.writev(fd, buffers);
        await nodeCaptureFs.writev(fd, [buffers[0].subarray(0, 7)]); // part of a frame lands, then ENOSPC
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      },
    };
    const { config, dir } = testConfig({ shutdown: { drainTimeoutMs: 1000 } });
    const file = path.join(dir, 'cap.pkt');
    const lines: Array<Record<string, unknown>> = [];
    const log = recordingLog(lines);
    let server: IngestServer | null = null;
    const context: HandlerContext = {
      name: 'capture',
      log,
      reportError: (err) => server?.reportHandlerError('capture', err),
      commit: () => {},
      failCommit: () => {},
    };
    const capture = await createCaptureHandler({ path: file, fsync: 'never', fsyncIntervalMs: 1000, rotateBytes: 1 << 30, keepFiles: 1 }, context, {
      fs: disk,
      retryMinMs: 5,
      retryMaxMs: 50,
    });
    server = new IngestServer({ config, logger: log, handlers: [{ name: 'capture', handler: capture }] });
    const { tcpPort } = await server.start();
    const producer = net.connect(tcpPort, '127.0.0.1');
    producer.on('error', () => {});
    for (let i = 0; i < 10; i++) producer.write(frame(i));
    await until(() => capture.file.bytesWritten === 10 * frame(0).length, 5000, 'the first 10 frames written');
    full = true;
    for (let i = 10; i < 60; i++) producer.write(frame(i));
    await until(() => server!.stats.packets === 60, 5000, 'all 60 delivered');
    const started = Date.now();
    const report = await server.shutdown(); // the producer never closes: the drain times out too
    const tookMs = Date.now() - started;
    producer.destroy();
    expect(report).toEqual({ unwritten: 50, unconfirmed: [], heldBytes: 0 });
    // One budget: the drain's share and the handlers' share add up to drainTimeoutMs (not 2x).
    expect(lines.find((l) => l.msg === 'draining')).toMatchObject({ drainTimeoutMs: 1000, drainMs: 750, flushMs: 250 });
    const line = lines.find((l) => l.handler === 'capture' && l.unwritten !== undefined);
    expect(line).toMatchObject({ level: 50, unwritten: 50 });
    const onDisk = inspectFile(file, { maxPayloadBytes: 1 << 20, maxHeaderBytes: 4096 });
    expect(onDisk).toMatchObject({ frames: 10, torn: null, firstError: null });
    expect(fs.statSync(file).size).toBe(10 * frame(0).length);
    process.stdout.write(`full disk at shutdown: ${report.unwritten} of 60 delivered frames reported unwritten, stopped after ${tookMs} ms (drainTimeoutMs 1000), file: 10 whole frames\n`);
  });
});

describe('a server whose handler never settles and has no close()', () => {
  it('reports the bytes still held after every close: not clean (exit 3)', async () => {
    const never: PacketHandler = { onPacket: () => new Promise<void>(() => {}) };
    const { config } = testConfig({ shutdown: { drainTimeoutMs: 200 }, limits: { handlerTimeoutMs: 0 } });
    const lines: Array<Record<string, unknown>> = [];
    const server = new IngestServer({ config, logger: recordingLog(lines), handlers: [{ name: 'never', handler: never }] });
    const { tcpPort } = await server.start();
    const frame = encodeFrame({ sourceId: 'held', destId: 'forever', payload: Buffer.alloc(50) });
    const producer = net.connect(tcpPort, '127.0.0.1');
    producer.on('error', () => {});
    producer.end(Buffer.concat([frame, frame]));
    await until(() => server.stats.packets === 2, 5000, 'both delivered');
    const report = await server.shutdown();
    expect(report).toEqual({ unwritten: 0, unconfirmed: [], heldBytes: 2 * frame.length });
    expect(shutdownWasClean(report)).toBe(false);
    expect(lines.find((l) => l.heldBytes !== undefined && l.level === 50)?.msg).toContain('never settled');
  });
});
