/**
 * The path watcher: a live capture file (or its directory) removed or moved
 * while frames flow. Within pathCheckMs the writer notices, counts an error,
 * recreates directory and file, and rewrites the frames the removed file got
 * since its last good check: no frame appended after the removal is lost.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CapturePathLostError, type CaptureFile } from '../../src/sinks/capture-file.js';
import { nodeCaptureFs, type CaptureFs } from '../../src/sinks/capture-fs.js';
import { pathState } from '../../src/sinks/capture-salvage.js';
import { frame, splitFrames } from '../handlers/drive.js';
import { captureKit, deferred } from './capture-kit.js';

const kit = captureKit();
const MAX_FRAMES = 200_000;
/** Far above MAX_FRAMES' bytes: on an idle machine 500 ms of flow passes the kit's 1 MiB. */
const NO_ROTATION = 1 << 30;

/** Appends one frame per event-loop turn until `stop` resolves (bounded); returns every frame appended. */
async function flow(file: CaptureFile, all: Buffer[], stop: Promise<unknown>): Promise<void> {
  let stopped = false;
  void stop.then(() => (stopped = true));
  while (!stopped && all.length < MAX_FRAMES) {
    const f = frame(all.length);
    all.push(f);
    await file.append([f]);
    await new Promise(setImmediate);
  }
}

function lostOnce(file: CaptureFile): Promise<Error> {
  const lost = deferred<Error>();
  file.onError = (error) => {
    if (error instanceof CapturePathLostError) lost.resolve(error);
  };
  return lost.promise;
}

/** The live file holds whole frames that are a suffix of `all` reaching back at least to frame `from`. */
function expectSuffixFrom(path: string, all: Buffer[], from: number): number {
  const stored = splitFrames(readFileSync(path));
  const first = all.length - stored.length;
  expect(first).toBeLessThanOrEqual(from);
  expect(Buffer.concat(stored).equals(Buffer.concat(all.slice(first)))).toBe(true);
  return stored.length;
}

describe('pathState', () => {
  it('tells the same file from a removed, a moved and a replaced one', async () => {
    const path = join(kit.dir, 'd', 'f');
    mkdirSync(join(kit.dir, 'd'));
    const fd = await nodeCaptureFs.open(path);
    try {
      expect(await pathState(nodeCaptureFs, fd, path)).toBe('same');
      renameSync(path, `${path}.moved`);
      expect(await pathState(nodeCaptureFs, fd, path)).toBe('moved');
      writeFileSync(path, 'another file');
      expect(await pathState(nodeCaptureFs, fd, path)).toBe('moved');
      unlinkSync(`${path}.moved`);
      expect(await pathState(nodeCaptureFs, fd, path)).toBe('removed');
    } finally {
      await nodeCaptureFs.close(fd);
    }
  });
});

describe('a capture path removed while frames flow', () => {
  for (const what of ['file', 'directory'] as const) {
    it(`${what} removed: noticed within a second, recreated, every frame appended after the removal on disk`, async () => {
      const dir = join(kit.dir, 'data');
      const path = join(dir, 'cap.pkt');
      // fsync never, pathCheckMs default (500 ms); no rotation, so every frame is in the one file read back
      const file = await kit.open({ path, rotateBytes: NO_ROTATION });
      const lost = lostOnce(file);
      const all: Buffer[] = [];
      const removed = deferred();
      const flowing = flow(file, all, lost);
      // Let some frames land first, then remove while the flow goes on.
      while (all.length < 200) await new Promise(setImmediate);
      rmSync(what === 'file' ? path : dir, { recursive: true });
      const removedAt = performance.now();
      const firstAfter = all.length;
      removed.resolve();
      await lost;
      const noticedMs = performance.now() - removedAt;
      const intoRemoved = all.length - firstAfter;
      await flowing;
      for (let k = 0; k < 100; k++) await file.append([frame(all.push(frame(all.length)) - 1)]);
      await file.close();
      expect(noticedMs).toBeLessThan(1000);
      expect(file.pathLosses).toBe(1);
      expect(file.salvagedBytes).toBeGreaterThan(0); // frames did go into the removed file before it was noticed
      const onDisk = expectSuffixFrom(path, all, firstAfter);
      console.log(`${what} removed: noticed after ${noticedMs.toFixed(0)} ms; ${intoRemoved} frames went into the removed file meanwhile; ${all.length - firstAfter} appended after the removal, all on disk (${onDisk} frames in the new file, ${file.salvagedBytes} bytes rewritten from the removed one)`);
    });
  }

  it('a moved file keeps its frames; new frames go to a fresh file at the path, none twice', async () => {
    const path = join(kit.dir, 'cap.pkt');
    const file = await kit.open({ path, rotateBytes: NO_ROTATION });
    const lost = lostOnce(file);
    const all: Buffer[] = [];
    const flowing = flow(file, all, lost);
    while (all.length < 200) await new Promise(setImmediate);
    renameSync(path, `${path}.moved`);
    await lost;
    await flowing;
    await file.close();
    expect(file.salvagedBytes).toBe(0);
    const both = Buffer.concat([readFileSync(`${path}.moved`), readFileSync(path)]);
    expect(both.equals(Buffer.concat(all))).toBe(true);
  });

  it('a directory gone at rotation is recreated at once, not retried forever', async () => {
    const dir = join(kit.dir, 'data');
    const path = join(dir, 'cap.pkt');
    let opens = 0;
    const fs: CaptureFs = {
      ...nodeCaptureFs,
      open: (p) => (opens++, nodeCaptureFs.open(p)),
      // The directory vanishes right after the rename, before the fresh file is opened.
      rename: async (from, to) => {
        await nodeCaptureFs.rename(from, to);
        if (from === path) rmSync(dir, { recursive: true });
      },
    };
    const file = await kit.open({ path, rotateBytes: 1000, keepFiles: 1, fs, pathCheckMs: 60_000 });
    const all = Array.from({ length: 30 }, (_, i) => frame(i));
    for (const f of all) await file.append([f]);
    await file.close();
    expect(file.rotations).toBeGreaterThan(1);
    expect(file.errors).toBe(0);
    expect(opens).toBe(1 + 2 * file.rotations); // each rotation: one ENOENT, one open after mkdir
    expectSuffixFrom(path, all, all.length - 1);
  });
});
