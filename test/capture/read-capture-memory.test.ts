/**
 * Memory stays flat whatever the file size: a CI-sized 64 MB capture read
 * with under 10 MB of RSS growth (the 1 GB figure is in `npm run bench -- reader`).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { readCapture } from '../../src/capture/read-capture.js';
import { encodeFrame } from '../../src/wire/encode.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pkt-mem-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

it('reads a 64 MB capture of 64-byte payloads with < 10 MB RSS growth', () => {
  const file = path.join(dir, 'big.pkt');
  const frames = Array.from({ length: 8192 }, (_, i) => encodeFrame({ sourceId: `s${i % 16}`, destId: 'sink', timestamp: i + 1, payload: Buffer.alloc(64, i) }));
  const block = Buffer.concat(frames);
  const fd = fs.openSync(file, 'w');
  const target = 64 * 1024 * 1024;
  let written = 0;
  while (written < target) written += fs.writeSync(fd, block);
  fs.closeSync(fd);

  globalThis.gc?.();
  const before = process.memoryUsage().rss;
  let frameCount = 0;
  let bytes = 0;
  let peak = before;
  for (const p of readCapture(file)) {
    frameCount++;
    bytes += p.frameLength;
    if ((frameCount & 0xffff) === 0) peak = Math.max(peak, process.memoryUsage().rss);
  }
  peak = Math.max(peak, process.memoryUsage().rss);
  expect(bytes).toBe(written);
  expect(frameCount).toBe((written / block.length) * frames.length);
  expect(peak - before).toBeLessThan(10 * 1024 * 1024);
});
