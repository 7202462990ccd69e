/**
 * The few file operations a CaptureFile needs, over raw descriptors.
 * A seam so tests can inject failures (EIO, ENOSPC, short writes) that a
 * root-run test cannot provoke through permissions.
 */
import * as fs from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';

/** Which file a descriptor or a path names: same dev and ino means the same file. */
export interface FileIdentity {
  readonly dev: number;
  readonly ino: number;
  /** Names the file has; 0 once it was removed (the descriptor keeps it alive). */
  readonly nlink: number;
  readonly size: number;
}

export interface CaptureFs {
  /** Creates `dir` and its parents; no error if it exists. */
  mkdir(dir: string): Promise<void>;
  /** Opens `path` for append (and reading back), creating it; ENOENT if its directory is gone. */
  open(path: string): Promise<number>;
  size(fd: number): Promise<number>;
  /** fstat: the file the descriptor holds. */
  identity(fd: number): Promise<FileIdentity>;
  /** stat: the file the path names now, or null if none. */
  pathIdentity(path: string): Promise<FileIdentity | null>;
  /** Reads up to buffer.length bytes at `position`; returns the count (0 at the end). */
  read(fd: number, buffer: Buffer, position: number): Promise<number>;
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
  // 'a+': appends, and lets a removed file's last frames be read back (capture-salvage.ts).
  open: (path) => new Promise((resolve, reject) => fs.open(path, 'a+', 0o644, done(resolve, reject))),
  size: (fd) =>
    new Promise((resolve, reject) => fs.fstat(fd, (error, stats) => (error ? reject(error) : resolve(stats.size)))),
  identity: (fd) => new Promise((resolve, reject) => fs.fstat(fd, (error, stats) => (error ? reject(error) : resolve(stats)))),
  pathIdentity: async (path) => {
    try {
      return await stat(path);
    } catch (error) {
      if (isMissing(error) || (error as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
      throw error;
    }
  },
  read: (fd, buffer, position) =>
    new Promise((resolve, reject) => fs.read(fd, buffer, 0, buffer.length, position, done(resolve, reject))),
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
