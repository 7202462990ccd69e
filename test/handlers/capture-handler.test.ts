import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCaptureHandler, type CaptureHandler } from '../../src/handlers/capture-handler.js';
import { StartupError } from '../../src/errors.js';
import { nodeCaptureFs, type CaptureFs } from '../../src/sinks/capture-fs.js';
import { Driver, connectionInfo, frame, frames, silent, splitFrames } from './drive.js';

let dir: string;
let handler: CaptureHandler | null = null;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pkt-capture-handler-'));
});
afterEach(async () => {
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
    expect(writes[0][0].buffer).toBe(driver.reader.readBuffer()?.buffer);
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
});
