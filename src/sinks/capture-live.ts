/**
 * The live capture file as the writer holds it: a descriptor, the size of
 * the whole frames in it, and the offset from which a removal would lose
 * frames. Owned by one CaptureFile's writer loop (one operation at a time).
 *
 *   0 ........ keepFrom ............ size ...... (torn bytes while a write fails)
 *   checked & committed | not yet both  | cut back at once (cutTail)
 *
 * A descriptor that failed or whose path was lost is retired as an Orphan;
 * adopt() then moves to the file the path names now: the same file after a
 * plain failure (cut its tail), a fresh one after a removal (copy the
 * orphan's frames from keepFrom on), or a fresh one after a move (the moved
 * file keeps its bytes). At close: synced and closed by CaptureFile.
 */
import { dirname } from 'node:path';
import { CaptureError } from '../errors.js';
import type { CaptureFs } from './capture-fs.js';
import { copyRange, pathState, type PathState } from './capture-salvage.js';

/** The writer reported fewer bytes than asked: retried like an error. */
export class ShortWriteError extends CaptureError {
  constructor(written: number, expected: number) {
    super(`short write: ${written} of ${expected} bytes`);
  }
}

/** A descriptor taken out of service, with what the next file still needs from it. */
export interface Orphan {
  readonly fd: number;
  readonly goodSize: number;
  readonly keepFrom: number;
}

export class LiveFile {
  fd: number | null = null;
  /** Bytes of whole frames in the file. */
  size = 0;
  /** From here on bytes are not yet both path-checked and committed. */
  keepFrom = 0;
  /** A write is in flight or failed: the file may hold bytes past `size`. */
  mayBeTorn = false;
  /** Written since the last sync. */
  dirty = false;

  constructor(
    private readonly fs: CaptureFs,
    readonly path: string,
  ) {}

  /** Opens `path`, recreating a removed directory (ENOENT is never retried forever). */
  async open(): Promise<void> {
    let fd: number;
    try {
      fd = await this.fs.open(this.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      await this.fs.mkdir(dirname(this.path));
      fd = await this.fs.open(this.path);
    }
    this.fd = fd;
    try {
      this.size = this.keepFrom = await this.fs.size(fd);
    } catch (error) {
      await this.drop();
      throw error;
    }
  }

  /** Writes whole frames after `size`; `size` moves only when the caller accepts them. */
  async write(segments: Buffer[], bytes: number): Promise<void> {
    if (bytes === 0) return; // an empty append queued only to keep its onDurable in order
    this.mayBeTorn = true;
    const written = await this.fs.writev(this.fd as number, segments);
    if (written !== bytes) throw new ShortWriteError(written, bytes);
  }

  /** The last write holds (written, and synced if the mode asks). */
  accept(bytes: number): void {
    this.size += bytes;
    this.mayBeTorn = false;
  }

  async sync(): Promise<void> {
    await this.fs.sync(this.fd as number);
    this.dirty = false;
  }

  /** Syncs, and answers whether the file still had a name (an fstat beside the sync: no extra wait). */
  async syncLinked(): Promise<boolean> {
    const [own] = await Promise.all([this.fs.identity(this.fd as number), this.sync()]);
    return own.nlink > 0;
  }

  check(): Promise<PathState> {
    return pathState(this.fs, this.fd as number, this.path);
  }

  /** Cuts bytes past `size` off now (a failed write's partial frame); false if that failed too. */
  async cutTail(): Promise<boolean> {
    if (!this.mayBeTorn || this.fd === null) return true;
    try {
      await this.fs.truncate(this.fd, this.size);
      this.mayBeTorn = false;
      return true;
    } catch {
      return false;
    }
  }

  /** Takes the descriptor out of service; `keepFrom` is where a removal's salvage starts. */
  retire(keepFrom = this.keepFrom): Orphan {
    const orphan = { fd: this.fd as number, goodSize: this.size, keepFrom };
    this.fd = null;
    return orphan;
  }

  /** Closes the descriptor, if any (errors ignored: it is being given up). */
  async drop(): Promise<void> {
    const fd = this.fd;
    this.fd = null;
    if (fd !== null) await this.fs.close(fd).catch(() => undefined);
  }

  /** Opens the path's file in the orphan's place; returns the bytes copied from a removed file. */
  async adopt(orphan: Orphan): Promise<number> {
    if (this.fd === null) await this.open();
    else if (!(await this.cutTail())) throw new CaptureError(`cannot cut a partial copy off ${this.path}; retrying`);
    const fd = this.fd as number;
    const [old, now] = await Promise.all([this.fs.identity(orphan.fd), this.fs.identity(fd)]);
    let copied = 0;
    if (old.dev === now.dev && old.ino === now.ino) {
      // The same file (a retry after a failure): cut off a tail the failure could not.
      if (this.size > orphan.goodSize) await this.fs.truncate(fd, orphan.goodSize);
      this.size = orphan.goodSize;
      this.keepFrom = orphan.keepFrom;
    } else if (old.nlink === 0 && orphan.goodSize > orphan.keepFrom) {
      // Removed: its last frames exist only behind the old descriptor. The copy
      // counts once whole, so a failed one is cut back to `start` and redone.
      const start = this.size;
      this.mayBeTorn = true;
      await copyRange(this.fs, orphan.fd, orphan.keepFrom, orphan.goodSize, (chunk) => this.write([chunk], chunk.length));
      copied = orphan.goodSize - orphan.keepFrom;
      this.accept(copied);
      this.keepFrom = start;
      this.dirty = true;
    } else if (old.size > orphan.goodSize) {
      await this.fs.truncate(orphan.fd, orphan.goodSize); // a moved file keeps whole frames only
    }
    await this.fs.close(orphan.fd).catch(() => undefined);
    return copied;
  }
}
