import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ALWAYS_COPY_BYTES, createCaptureHandler, type CaptureHandler } from '../../src/handlers/capture-handler.js';
import type { HandlerContext } from '../../src/handlers/types.js';
import { StartupError } from '../../src/errors.js';
import type { IngestServer } from '../../src/server.js';
import { nodeCaptureFs, type CaptureFs } from '../../src/sinks/capture-fs.js';
import { deferred } from '../helpers/feed.js';
import { connect, startServer, until, type LiveServer } from '../helpers/live-server.js';
import { Driver, connectionInfo, frame, frames, silent, splitFrames } from './drive.js';

let dir: string;
let handler: CaptureHandler | null = null;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pkt-capture-handler-'));
});
let live: LiveServer | null = null;
afterEach(async () => {
  await live?.stop();
  live = null;
  await handler?.close?.();
  handler = null;
  rmSync(dir, { recursive: true, force: true });
});

const reported: unknown[] = [];
const context = { name: 'capture', log: silent, reportError: (e: unknown) => void reported.push(e), commit: () => {}, failCommit: () => {} };
const path = () => join(dir, 'cap.pkt');

async function build(fs?: CaptureFs): Promise<CaptureHandler> {
  handler = await createCaptureHandler(
    { path: path(), fsync: 'never', fsyncIntervalMs: 1000, rotateBytes: 1 << 30, keepFiles: 1 },
    context,
    { fs },
  );
  return handler;
}

/** Records the segments of every vectored write. */
function recordingFs(writes: Buffer[][]): CaptureFs {
  return {
    ...nodeCaptureFs,
    writev: (fd, buffers) => {
      writes.push([...buffers]);
      return nodeCaptureFs.writev(fd, buffers);
    },
  };
}

describe('capture handler', () => {
  it('fsync always: copies a batch and frees its ring during the sync, while the file queue stays within ALWAYS_COPY_BYTES; then holds the ring', async () => {
    const gate = deferred();
    let syncs = 0;
    const fs: CaptureFs = { ...nodeCaptureFs, sync: async (fd) => (++syncs, await gate.promise, nodeCaptureFs.sync(fd)) };
    handler = await createCaptureHandler({ path: path(), fsync: 'always', fsyncIntervalMs: 1000, rotateBytes: 1 << 30, keepFiles: 1 }, context, { fs });
    const driver = new Driver(handler, connectionInfo(1), 4 << 20);
    const sent: Buffer[] = [Buffer.concat(frames(20))];
    await driver.read(sent[0]); // settles with its sync still to come: the ring is free
    await until(() => syncs === 1, 5000, 'the first sync started (and waits at the gate)');
    const big = frame(0, { payload: Buffer.alloc(300 * 1024, 7) });
    while (handler.file.pendingBytes + big.length <= ALWAYS_COPY_BYTES) {
      await driver.read(big); // copied too: each read settled although nothing was synced
      sent.push(big);
    }
    let held = true;
    const last = driver.read(big).then(() => (held = false));
    sent.push(big);
    await until(() => handler!.file.pendingBytes > ALWAYS_COPY_BYTES, 5000, 'the last append queued');
    expect(held).toBe(true); // the same read as the ones before, but it would pass the bound: its ring bytes wait
    gate.resolve();
    await last;
    await handler.close?.();
    expect(readFileSync(path()).equals(Buffer.concat(sent))).toBe(true);
    expect(reported).toEqual([]);
  });

  it('lands frames from a FrameReader byte-exact, whatever the read cuts', async () => {
    const h = await build();
    const driver = new Driver(h, connectionInfo(1));
    const stream = Buffer.concat(frames(60));
    for (let at = 0, cut = 1; at < stream.length; at += cut, cut = (cut * 7 + 3) % 400) {
      await driver.read(stream.subarray(at, at + cut));
    }
    await h.close?.();
    expect(readFileSync(path()).equals(stream)).toBe(true);
  });

  it('writes the frames of one read as one segment, with no per-packet copy', async () => {
    const writes: Buffer[][] = [];
    const h = await build(recordingFs(writes));
    const driver = new Driver(h, connectionInfo(1));
    const batch = Buffer.concat(frames(5));
    await driver.read(batch);
    expect(writes).toHaveLength(1);
    expect(writes[0]).toHaveLength(1);
    expect(writes[0][0].equals(batch)).toBe(true);
    // A view of the ring, not a copy.
    expect(writes[0][0].buffer).toBe(driver.reader.reserveRead()?.buffer);
  });

  it('leaves out a dropped frame: two runs around the gap', async () => {
    const writes: Buffer[][] = [];
    const h = await build(recordingFs(writes));
    const driver = new Driver(h, connectionInfo(1));
    const bad = frame(2, { checksum: 1 });
    await driver.read(Buffer.concat([frame(0), frame(1), bad, frame(3)]));
    expect(writes[0]).toHaveLength(2);
    expect(readFileSync(path()).equals(Buffer.concat([frame(0), frame(1), frame(3)]))).toBe(true);
  });

  it('interleaves two connections as whole frames, each in its own order', async () => {
    const h = await build();
    const a = new Driver(h, connectionInfo(1));
    const b = new Driver(h, connectionInfo(2));
    const aFrames = frames(30, 0, { sourceId: 'conn-a' });
    const bFrames = frames(30, 100, { sourceId: 'conn-b' });
    const aStream = Buffer.concat(aFrames);
    const bStream = Buffer.concat(bFrames);
    const reads: Promise<void>[] = [];
    // Uneven cuts, so frames straddle reads and the two connections' batches alternate.
    for (let at = 0; at < Math.max(aStream.length, bStream.length); at += 333) {
      if (at < aStream.length) reads.push(a.read(aStream.subarray(at, at + 333)));
      if (at < bStream.length) reads.push(b.read(bStream.subarray(at, at + 251)));
      if (at + 251 < bStream.length) reads.push(b.read(bStream.subarray(at + 251, at + 333)));
    }
    await Promise.all(reads);
    await h.close?.();
    const stored = splitFrames(readFileSync(path()));
    expect(stored).toHaveLength(60);
    const fromA = stored.filter((f) => f.includes('conn-a'));
    const fromB = stored.filter((f) => f.includes('conn-b'));
    expect(Buffer.concat(fromA).equals(aStream)).toBe(true);
    expect(Buffer.concat(fromB).equals(bStream)).toBe(true);
  });

  it('counts a failed write against the handler, then writes the batch once it recovers', async () => {
    reported.length = 0;
    let failures = 1;
    const flaky: CaptureFs = {
      ...nodeCaptureFs,
      writev: (fd, buffers) => (failures-- > 0 ? Promise.reject(Object.assign(new Error('disk full'), { code: 'ENOSPC' })) : nodeCaptureFs.writev(fd, buffers)),
    };
    handler = await createCaptureHandler(
      { path: path(), fsync: 'never', fsyncIntervalMs: 1000, rotateBytes: 1 << 30, keepFiles: 1 },
      context,
      { fs: flaky, retryMinMs: 1, retryMaxMs: 1 },
    );
    const stream = Buffer.concat(frames(3));
    await new Driver(handler, connectionInfo(1)).read(stream);
    expect(reported).toHaveLength(1);
    expect((reported[0] as NodeJS.ErrnoException).code).toBe('ENOSPC');
    expect(readFileSync(path()).equals(stream)).toBe(true);
  });

  it('reports the file health', async () => {
    const h = await build();
    expect(h.isHealthy?.()).toBe(true);
    expect(h.file.healthy).toBe(true);
  });

  it('fails start-up with a StartupError when the path cannot be created', async () => {
    writeFileSync(join(dir, 'not-a-dir'), 'x');
    const failing = createCaptureHandler(
      { path: join(dir, 'not-a-dir', 'cap.pkt'), fsync: 'never', fsyncIntervalMs: 1000, rotateBytes: 1000, keepFiles: 1 },
      context,
    );
    await expect(failing).rejects.toBeInstanceOf(StartupError);
    await expect(failing).rejects.toThrow(/handler "capture" \(capture\): cannot open .*not-a-dir/);
  });

  it('logs rotations and deleted old files at info, and shows its state for /status', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const all = frames(12, 0, { payload: Buffer.alloc(66) }); // 100-byte frames
    handler = await createCaptureHandler(
      { path: path(), fsync: 'interval', fsyncIntervalMs: 60_000, rotateBytes: 300, keepFiles: 1 },
      { ...context, log },
    );
    await new Driver(handler, connectionInfo(1)).read(Buffer.concat(all));
    const rotated = lines.filter((l) => l.msg === 'capture file rotated');
    const deleted = lines.filter((l) => l.msg === 'capture file deleted (keepFiles)');
    expect(rotated.map((l) => [l.level, l.rotatedTo, l.bytes])).toEqual([
      [30, `${path()}.1`, 300],
      [30, `${path()}.1`, 300],
      [30, `${path()}.1`, 300],
    ]);
    expect(deleted.map((l) => [l.level, l.path])).toEqual([
      [30, `${path()}.1`],
      [30, `${path()}.1`],
    ]);
    const status = handler.status?.();
    expect(status).toMatchObject({ path: path(), bytesWritten: 1200, rotations: 3, errors: 0, pendingBytes: 0 });
    // Rotation syncs the file it hands over (fsync interval): lastSyncAt is that sync's time.
    expect(status?.lastSyncAt).toEqual(expect.any(Number));
  });

  it('close() past its budget on a full disk reports the frames it could not write and leaves no torn tail', async () => {
    let full = false;
    const disk: CaptureFs = {
      ...nodeCaptureFs,
      writev: async (fd, buffers) => {
        if (!full) return nodeCaptureFs.writev(fd, buffers);
        await nodeCaptureFs.writev(fd, [buffers[0].subarray(0, 7)]); // part of a frame lands, then ENOSPC
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      },
    };
    handler = await createCaptureHandler(
      { path: path(), fsync: 'never', fsyncIntervalMs: 1000, rotateBytes: 1 << 30, keepFiles: 1 },
      context,
      { fs: disk, retryMinMs: 5, retryMaxMs: 20 },
    );
    const driver = new Driver(handler, connectionInfo(1));
    await driver.read(Buffer.concat(frames(3)));
    full = true;
    const held = driver.read(Buffer.concat(frames(25, 3)));
    held.catch(() => undefined);
    const started = performance.now();
    const result = await handler.close?.(300);
    const tookMs = performance.now() - started;
    expect(result).toEqual({ unwritten: 25 });
    expect(tookMs).toBeLessThan(300 + 400);
    expect(readFileSync(path()).equals(Buffer.concat(frames(3)))).toBe(true);
    await expect(held).rejects.toThrow(/25 frames unwritten/);
    console.log(`close on a full disk: returned after ${tookMs.toFixed(0)} ms (budget 300), unwritten 25 frames, file ends on a whole frame`);
  });

  for (const what of ['file', 'directory'] as const) {
    it(`a real server: the capture ${what} removed while frames flow; every frame delivered after the removal is on disk`, async () => {
      const dataDir = join(dir, 'data');
      const file = join(dataDir, 'cap.pkt');
      let server: IngestServer | null = null;
      const ctx: HandlerContext = { name: 'capture', log: silent, reportError: (err) => (server as IngestServer).reportHandlerError('capture', err), commit: () => {}, failCommit: () => {} };
      const capture = await createCaptureHandler({ path: file, fsync: 'interval', fsyncIntervalMs: 200, rotateBytes: 1 << 30, keepFiles: 1 }, ctx);
      handler = capture;
      live = await startServer({}, { handlers: [{ name: 'capture', handler: capture }] });
      server = live.server;
      const stream = frames(4000, 0, { sourceId: 'rm-test' });
      const socket = await connect(live.tcpPort);
      let sent = 0;
      const send = (n: number) => {
        for (const end = Math.min(stream.length, sent + n); sent < end; sent++) socket.write(stream[sent]);
      };
      send(500);
      await until(() => server!.stats.packets === 500 && capture.file.pendingBytes === 0, 5000, 'first frames written');
      rmSync(what === 'file' ? file : dataDir, { recursive: true });
      const firstAfter = sent;
      const removedAt = performance.now();
      // Keep frames flowing in small bursts until the capture notices.
      while (capture.file.pathLosses === 0 && sent < 3000) {
        send(20);
        await new Promise((r) => setTimeout(r, 5));
      }
      await until(() => capture.file.pathLosses === 1, 2000, 'removal noticed');
      const noticedMs = performance.now() - removedAt;
      const sentBeforeNotice = sent - firstAfter;
      expect(server.stats.handlerErrors.get('capture')).toBe(1);
      send(stream.length);
      const closed = once(socket, 'close');
      socket.end();
      await closed;
      await until(() => server!.stats.packets === stream.length && capture.file.pendingBytes === 0, 10_000, 'all delivered and written');
      await live.stop();
      live = null;
      const stored = splitFrames(readFileSync(file));
      const first = stream.length - stored.length;
      expect(first).toBeLessThanOrEqual(firstAfter);
      expect(Buffer.concat(stored).equals(Buffer.concat(stream.slice(first)))).toBe(true);
      expect(capture.file.salvagedBytes).toBeGreaterThan(0);
      console.log(`real server, ${what} removed: noticed after ${noticedMs.toFixed(0)} ms (${sentBeforeNotice} frames sent meanwhile); ${stream.length - firstAfter} frames delivered after the removal, all on disk byte-exact (${capture.file.salvagedBytes} bytes rewritten from the removed file)`);
    });
  }
});
