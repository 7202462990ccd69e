/**
 * Test plumbing for the capture sink tests: a temp directory per test, a
 * CaptureFile opened there (closed afterwards), and an fs seam that logs
 * every write and sync in order. Not a test file itself.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { CaptureFile, type CaptureFileOptions } from '../../src/sinks/capture-file.js';
import { nodeCaptureFs, type CaptureFs } from '../../src/sinks/capture-fs.js';

export interface Kit {
  dir: string;
  open(options?: Partial<CaptureFileOptions>): Promise<CaptureFile>;
}

/** Registers beforeEach/afterEach hooks; returns the kit the tests use. */
export function captureKit(): Kit {
  const files: CaptureFile[] = [];
  const kit: Kit = {
    dir: '',
    async open(options = {}) {
      const file = new CaptureFile({
        path: join(kit.dir, 'cap.pkt'),
        fsync: 'never',
        fsyncIntervalMs: 1000,
        rotateBytes: 1 << 20,
        keepFiles: 2,
        retryMinMs: 1,
        retryMaxMs: 4,
        ...options,
      });
      await file.open();
      files.push(file);
      return file;
    },
  };
  beforeEach(() => {
    kit.dir = mkdtempSync(join(tmpdir(), 'pkt-capture-'));
  });
  afterEach(async () => {
    await Promise.all(files.splice(0).map((f) => f.close(1000)));
    rmSync(kit.dir, { recursive: true, force: true });
  });
  return kit;
}

export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** One entry per operation, in the order the writer did them. */
export type FsEvent = { op: 'write'; end: number } | { op: 'sync' } | { op: 'durable'; append: number };

/** Logs writes (with the stream offset they reach) and syncs; `before` may delay or fail a call. */
export function loggingFs(events: FsEvent[], before: { writev?: () => Promise<void>; sync?: () => Promise<void> } = {}): CaptureFs {
  let end = 0;
  return {
    ...nodeCaptureFs,
    writev: async (fd, buffers) => {
      await before.writev?.();
      const written = await nodeCaptureFs.writev(fd, buffers);
      end += written;
      events.push({ op: 'write', end });
      return written;
    },
    sync: async (fd) => {
      await before.sync?.();
      await nodeCaptureFs.sync(fd);
      events.push({ op: 'sync' });
    },
  };
}
