import { existsSync, mkdtempSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CaptureFile, type CaptureFileOptions } from '../../src/sinks/capture-file.js';
import { nodeCaptureFs, type CaptureFs } from '../../src/sinks/capture-fs.js';
import { frames, splitFrames } from '../handlers/drive.js';

let dir: string;
let open: CaptureFile[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pkt-capture-'));
});
afterEach(async () => {
  await Promise.all(open.map((f) => f.close()));
  open = [];
  rmSync(dir, { recursive: true, force: true });
});

async function openFile(options: Partial<CaptureFileOptions> = {}): Promise<CaptureFile> {
  const file = new CaptureFile({
    path: join(dir, 'cap.pkt'),
    fsync: 'never',
    fsyncIntervalMs: 1000,
    rotateBytes: 1 << 20,
    keepFiles: 2,
    retryMinMs: 1,
    retryMaxMs: 4,
    ...options,
  });
  await file.open();
  open.push(file);
  return file;
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Watches a promise without awaiting it. */
function track(promise: Promise<void>): { settled: boolean } {
  const state = { settled: false };
  void promise.then(() => (state.settled = true));
  return state;
}

const read = (name = 'cap.pkt') => readFileSync(join(dir, name));

describe('CaptureFile', () => {
  it('creates missing directories and appends frames byte-exact, in order', async () => {
    const file = await openFile({ path: join(dir, 'a', 'b', 'cap.pkt') });
    const all = frames(20);
    for (let i = 0; i < all.length; i += 4) await file.append(all.slice(i, i + 4));
    expect(readFileSync(join(dir, 'a', 'b', 'cap.pkt')).equals(Buffer.concat(all))).toBe(true);
    expect(file.bytesWritten).toBe(Buffer.concat(all).length);
  });

  it('appends after what the file already holds', async () => {
    const first = await openFile();
    await first.append(frames(2));
    await first.close();
    const second = await openFile();
    expect(second.fileSize).toBe(Buffer.concat(frames(2)).length);
    await second.append(frames(1, 2));
    expect(read().equals(Buffer.concat(frames(3)))).toBe(true);
  });

  it('refuses a second writer on the same path', async () => {
    await openFile();
    await expect(openFile()).rejects.toThrow(/already open/);
  });

  it('coalesces appends queued during a write into one vectored write', async () => {
    const gate = deferred();
    const calls: number[] = [];
    const fs: CaptureFs = {
      ...nodeCaptureFs,
      writev: async (fd, buffers) => {
        calls.push(buffers.length);
        if (calls.length === 1) await gate.promise;
        return nodeCaptureFs.writev(fd, buffers);
      },
    };
    const file = await openFile({ fs });
    const all = frames(7);
    const first = file.append([all[0]]);
    const rest = [file.append([all[1], all[2]]), file.append([all[3]]), file.append([all[4], all[5], all[6]])];
    gate.resolve();
    await Promise.all([first, ...rest]);
    expect(calls).toEqual([1, 6]);
    expect(file.writes).toBe(2);
    expect(read().equals(Buffer.concat(all))).toBe(true);
  });

  it('rotates by size, keeps keepFiles files, and never splits a frame', async () => {
    const all = frames(10, 0, { payload: Buffer.alloc(66, 1) }); // 100-byte frames
    expect(all[0].length).toBe(100);
    const file = await openFile({ rotateBytes: 300, keepFiles: 2 });
    for (const f of all) await file.append([f]);
    expect(read().equals(all[9])).toBe(true);
    expect(read('cap.pkt.1').equals(Buffer.concat(all.slice(6, 9)))).toBe(true);
    expect(read('cap.pkt.2').equals(Buffer.concat(all.slice(3, 6)))).toBe(true);
    expect(existsSync(join(dir, 'cap.pkt.3'))).toBe(false);
    expect(file.rotations).toBe(3);
  });

  it('splits a coalesced write at append boundaries when it would cross the limit', async () => {
    const gate = deferred();
    const fs: CaptureFs = {
      ...nodeCaptureFs,
      writev: async (fd, buffers) => {
        await gate.promise;
        return nodeCaptureFs.writev(fd, buffers);
      },
    };
    const file = await openFile({ fs, rotateBytes: 1000, keepFiles: 20 });
    const all = frames(40);
    const pending = [];
    for (let i = 0; i < all.length; i += 3) pending.push(file.append(all.slice(i, i + 3)));
    gate.resolve();
    await Promise.all(pending);
    const names = [...Array.from({ length: file.rotations }, (_, k) => `cap.pkt.${file.rotations - k}`), 'cap.pkt'];
    const parts = names.map((n) => read(n));
    for (const part of parts) {
      expect(part.length).toBeLessThanOrEqual(1000);
      splitFrames(part); // whole frames only
    }
    expect(Buffer.concat(parts).equals(Buffer.concat(all))).toBe(true);
  });

  it('keeps no rotated file with keepFiles 0', async () => {
    const all = frames(5, 0, { payload: Buffer.alloc(70) });
    const file = await openFile({ rotateBytes: 250, keepFiles: 0 });
    for (const f of all) await file.append([f]);
    expect(read().equals(all[4])).toBe(true);
    expect(existsSync(join(dir, 'cap.pkt.1'))).toBe(false);
  });

  it('writes frames at once whatever the fsync mode', async () => {
    for (const fsync of ['never', 'interval', 'always'] as const) {
      const file = await openFile({ path: join(dir, `${fsync}.pkt`), fsync, fsyncIntervalMs: 60_000 });
      const started = performance.now();
      await file.append(frames(3));
      expect(performance.now() - started).toBeLessThan(100);
      expect(readFileSync(join(dir, `${fsync}.pkt`)).equals(Buffer.concat(frames(3)))).toBe(true);
    }
  });

  describe('fsync modes', () => {
    function spyFs(events: string[], onSync?: () => void): CaptureFs {
      return {
        ...nodeCaptureFs,
        writev: async (fd, buffers) => {
          events.push('write');
          return nodeCaptureFs.writev(fd, buffers);
        },
        sync: async (fd) => {
          events.push('sync');
          await nodeCaptureFs.sync(fd);
          onSync?.();
        },
      };
    }

    it('always: syncs each write before its appends resolve', async () => {
      const events: string[] = [];
      const file = await openFile({ fs: spyFs(events), fsync: 'always' });
      await file.append(frames(1)).then(() => events.push('resolved'));
      await file.append(frames(1)).then(() => events.push('resolved'));
      expect(events).toEqual(['write', 'sync', 'resolved', 'write', 'sync', 'resolved']);
    });

    it('interval: resolves on write, syncs on the timer', async () => {
      const events: string[] = [];
      const synced = deferred();
      const file = await openFile({ fs: spyFs(events, synced.resolve), fsync: 'interval', fsyncIntervalMs: 10 });
      await file.append(frames(1)).then(() => events.push('resolved'));
      await synced.promise;
      expect(events.slice(0, 3)).toEqual(['write', 'resolved', 'sync']);
    });

    it('never: no sync while running, one at close', async () => {
      const events: string[] = [];
      const file = await openFile({ fs: spyFs(events), fsync: 'never' });
      await file.append(frames(2));
      expect(events).toEqual(['write']);
      await file.close();
      expect(events).toEqual(['write', 'sync']);
    });
  });

  describe('a failing disk', () => {
    it('keeps the append pending and unhealthy, then writes it exactly once, untorn', async () => {
      const all = frames(4);
      let calls = -1; // counting starts after the first, good append
      const failed = deferred();
      const fs: CaptureFs = {
        ...nodeCaptureFs,
        writev: async (fd, buffers) => {
          if (calls >= 0) calls++;
          if (calls === 1) {
            writeSync(fd, buffers[0].subarray(0, 10)); // part of a frame lands, then the disk fails
            throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
          }
          if (calls === 2) return writeSync(fd, buffers[0].subarray(0, 30)); // a short write, no error
          return nodeCaptureFs.writev(fd, buffers);
        },
      };
      const file = await openFile({ fs });
      await file.append([all[0]]);
      calls = 0;
      const errors: Error[] = [];
      file.onError = (error) => {
        errors.push(error);
        if (errors.length === 1) failed.resolve();
      };
      const pending = file.append(all.slice(1));
      const state = track(pending);
      await failed.promise;
      expect(state.settled).toBe(false);
      expect(file.healthy).toBe(false);
      expect(file.lastError?.message).toMatch(/EIO/);
      await pending;
      expect(file.healthy).toBe(true);
      expect(errors.map((e) => e.name)).toEqual(['Error', 'ShortWriteError']);
      expect(read().equals(Buffer.concat(all))).toBe(true);
    });

    it('always: a failed sync rewrites the batch instead of trusting a retried sync', async () => {
      let syncs = 0;
      const fs: CaptureFs = {
        ...nodeCaptureFs,
        sync: async (fd) => {
          if (++syncs === 1) throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
          return nodeCaptureFs.sync(fd);
        },
      };
      const file = await openFile({ fs, fsync: 'always' });
      await file.append(frames(3));
      expect(file.writes).toBe(1);
      expect(file.errors).toBe(1);
      expect(read().equals(Buffer.concat(frames(3)))).toBe(true);
    });

    it('recovers when reopening fails for a while', async () => {
      let writes = 0;
      let opens = 0;
      const fs: CaptureFs = {
        ...nodeCaptureFs,
        open: async (path) => {
          if (++opens === 2) throw Object.assign(new Error('EMFILE: too many open files'), { code: 'EMFILE' });
          return nodeCaptureFs.open(path);
        },
        writev: async (fd, buffers) => {
          if (++writes === 1) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
          return nodeCaptureFs.writev(fd, buffers);
        },
      };
      const file = await openFile({ fs });
      await file.append(frames(2));
      expect(file.errors).toBe(2);
      expect(read().equals(Buffer.concat(frames(2)))).toBe(true);
    });
  });

  it('close() flushes what is queued; later appends are refused', async () => {
    const file = await openFile();
    const pending = file.append(frames(5));
    await file.close();
    await pending;
    expect(read().equals(Buffer.concat(frames(5)))).toBe(true);
    await expect(file.append(frames(1))).rejects.toThrow(/closed/);
  });
});

describe('a write that fails while the retry waits', () => {
  it('leaves no torn tail on disk during the wait; close() past its budget reports the unwritten frames', async () => {
    const all = frames(4);
    let full = false;
    const cut = deferred();
    const fs: CaptureFs = {
      ...nodeCaptureFs,
      writev: async (fd, buffers) => {
        if (!full) return nodeCaptureFs.writev(fd, buffers);
        writeSync(fd, buffers[0].subarray(0, 10)); // part of a frame lands, then the disk is full
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      },
      truncate: async (fd, size) => {
        await nodeCaptureFs.truncate(fd, size);
        cut.resolve();
      },
    };
    const file = await openFile({ fs, retryMinMs: 60_000, retryMaxMs: 60_000 }); // the retry waits a minute
    await file.append([all[0]]);
    full = true;
    const pending = file.append(all.slice(1));
    let settled = false;
    pending.then(
      () => (settled = true),
      () => (settled = true),
    );
    await cut.promise;
    expect(settled).toBe(false); // still waiting for its retry ...
    expect(read().equals(all[0])).toBe(true); // ... with the partial frame already cut off
    const started = performance.now();
    const result = await file.close(100);
    expect(performance.now() - started).toBeLessThan(100 + 300);
    expect(result).toEqual({ unwrittenFrames: 3, unwrittenBytes: Buffer.concat(all.slice(1)).length });
    await expect(pending).rejects.toThrow(/3 frames unwritten/);
    expect(read().equals(all[0])).toBe(true);
  });

  it('close() within its budget writes everything and reports nothing unwritten', async () => {
    const file = await openFile();
    const pending = file.append(frames(5));
    expect(await file.close(1000)).toEqual({ unwrittenFrames: 0, unwrittenBytes: 0 });
    await pending;
    expect(read().equals(Buffer.concat(frames(5)))).toBe(true);
  });
});
