/**
 * The few file operations a CaptureFile needs, over raw descriptors.
 * A seam so tests can inject failures (EIO, ENOSPC, short writes) that a
 * root-run test cannot provoke through permissions.
 */
import * as fs from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';

export interface CaptureFs {
  /** Creates `dir` and its parents; no error if it exists. */
  mkdir(dir: string): Promise<void>;
  /** Opens `path` for append, creating it. */
  open(path: string): Promise<number>;
  size(fd: number): Promise<number>;
  /** Returns the bytes written (fewer than asked is a short write). */
  writev(fd: number, buffers: Buffer[]): Promise<number>;
  /** Forces written data to disk. */
  sync(fd: number): Promise<void>;
  truncate(fd: number, size: number): Promise<void>;
  close(fd: number): Promise<void>;
  /** Renames `from` over `to`; a missing `from` is not an error. */
  rename(from: string, to: string): Promise<void>;
  /** Deletes `path`; a missing one is not an error. */
  remove(path: string): Promise<void>;
}

const done =
  <T>(resolve: (value: T) => void, reject: (error: Error) => void) =>
  (error: Error | null, value: T): void => {
    if (error) reject(error);
    else resolve(value);
  };

const isMissing = (error: unknown): boolean => (error as NodeJS.ErrnoException).code === 'ENOENT';

/** The real thing: callback APIs on raw fds, cheaper than FileHandle on the hot path. */
export const nodeCaptureFs: CaptureFs = {
  mkdir: async (dir) => {
    await mkdir(dir, { recursive: true });
  },
  open: (path) => new Promise((resolve, reject) => fs.open(path, 'a', 0o644, done(resolve, reject))),
  size: (fd) =>
    new Promise((resolve, reject) => fs.fstat(fd, (error, stats) => (error ? reject(error) : resolve(stats.size)))),
  writev: (fd, buffers) => new Promise((resolve, reject) => fs.writev(fd, buffers, done(resolve, reject))),
  // fdatasync: an appended file's size is flushed too, its mtime need not be.
  sync: (fd) => new Promise((resolve, reject) => fs.fdatasync(fd, (error) => (error ? reject(error) : resolve()))),
  truncate: (fd, size) => new Promise((resolve, reject) => fs.ftruncate(fd, size, (error) => (error ? reject(error) : resolve()))),
  close: (fd) => new Promise((resolve, reject) => fs.close(fd, (error) => (error ? reject(error) : resolve()))),
  rename: async (from, to) => {
    try {
      await rename(from, to);
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
  },
  remove: (path) => rm(path, { force: true }),
};
