/**
 * An append-only, rotating capture file that never holds a torn frame.
 *
 *   append(segments) --> queue --(one writev in flight)--> file
 *                                  everything queued meanwhile goes in the next writev
 *
 * Every segment holds whole frames, and a write only ever carries whole
 * appends, so a write that fails or comes up short is cut back (ftruncate)
 * to the last good size and retried whole, with backoff. Until it succeeds
 * its appends stay pending: the caller's buffers stay held, the server's
 * rings fill and producers pause. Nothing is dropped; memory stays bounded.
 *
 * Writes start as soon as bytes are queued, so frames reach the file within
 * one write's time in every fsync mode; `fsync` only decides when they are
 * forced to disk: `always` before an append resolves (one sync per coalesced
 * write: group commit), `interval` every fsyncIntervalMs (and before a
 * rotation), `never` not while running. close() syncs once in every mode,
 * so a clean shutdown is durable.
 *
 * Rotation, before a write that would cross rotateBytes (unless the file is
 * empty): path.(k) -> path.(k+1) for k = keepFiles-1..1, path -> path.1,
 * then a fresh path. A file only exceeds rotateBytes when one append alone does.
 */
import { dirname, resolve } from 'node:path';
import { CaptureError } from '../errors.js';
import { backoffDelay } from '../retry/backoff.js';
import { tornTailOffset } from './torn-tail.js';
import { nodeCaptureFs, type CaptureFs } from './capture-fs.js';

export type FsyncMode = 'always' | 'interval' | 'never';

export interface CaptureFileOptions {
  /** The live file; relative paths resolve against the working directory. */
  readonly path: string;
  readonly fsync: FsyncMode;
  readonly fsyncIntervalMs: number;
  readonly rotateBytes: number;
  /** Rotated files kept (path.1 .. path.keepFiles); 0 keeps none. */
  readonly keepFiles: number;
  /** Backoff of retries after a failed write: first delay and cap (ms). */
  readonly retryMinMs?: number;
  readonly retryMaxMs?: number;
  readonly fs?: CaptureFs;
}

/** The writer reported fewer bytes than asked: retried like an error. */
export class ShortWriteError extends CaptureError {
  constructor(written: number, expected: number) {
    super(`short write: ${written} of ${expected} bytes`);
  }
}

interface Append {
  readonly segments: Buffer[];
  readonly bytes: number;
  readonly resolve: () => void;
}

/** Paths open for writing in this process: one writer per file. */
const openPaths = new Set<string>();

export class CaptureFile {
  readonly path: string;
  bytesWritten = 0;
  writes = 0;
  rotations = 0;
  syncs = 0;
  /** Failed writes, syncs, rotations (each retry counts). */
  errors = 0;
  lastError: Error | null = null;
  /** Called on every failure (for logs and metrics); the writer keeps retrying. */
  onError: ((error: Error) => void) | null = null;
  /** Called when writing works again after failures. */
  onRecover: (() => void) | null = null;
  /** Called when open() cuts a torn last frame (left by a crash) off at `offset`. */
  onRepair: ((offset: number) => void) | null = null;

  private readonly options: CaptureFileOptions;
  private readonly fs: CaptureFs;
  private readonly retryMinMs: number;
  private readonly retryMaxMs: number;
  private fd: number | null = null;
  private size = 0;
  /** After a failed write: the size to cut the file back to before writing again. */
  private repairTo = -1;
  private readonly queue: Append[] = [];
  private running = false;
  private opened = false;
  private closing: Promise<void> | null = null;
  private dirty = false;
  private syncDue = false;
  private timer: NodeJS.Timeout | null = null;
  private failures = 0;
  private writeFailing = false;
  private syncFailing = false;
  private idleWaiters: Array<() => void> = [];

  constructor(options: CaptureFileOptions) {
    this.options = options;
    this.path = resolve(options.path);
    this.fs = options.fs ?? nodeCaptureFs;
    this.retryMinMs = options.retryMinMs ?? 100;
    this.retryMaxMs = options.retryMaxMs ?? 5000;
  }

  /** False while writes (or interval syncs) are failing. */
  get healthy(): boolean {
    return !this.writeFailing && !this.syncFailing;
  }

  /** Bytes in the live file. */
  get fileSize(): number {
    return this.size;
  }

  /** Bytes queued or being written. */
  get pendingBytes(): number {
    let n = 0;
    for (const a of this.queue) n += a.bytes;
    return n;
  }

  /** Creates missing directories and opens the file for append. Throws if it cannot. */
  async open(): Promise<void> {
    if (this.opened) return;
    if (openPaths.has(this.path)) throw new Error(`${this.path} is already open by another capture writer in this process`);
    openPaths.add(this.path);
    try {
      await this.fs.mkdir(dirname(this.path));
      this.repairTo = tornTailOffset(this.path);
      if (this.repairTo >= 0) this.onRepair?.(this.repairTo);
      await this.reopen();
    } catch (error) {
      openPaths.delete(this.path);
      throw error;
    }
    this.opened = true;
    if (this.options.fsync === 'interval') {
      this.timer = setInterval(() => {
        this.syncDue = true;
        this.kick();
      }, this.options.fsyncIntervalMs);
      this.timer.unref(); // syncing is no reason to keep the process alive
    }
  }

  /** Queues whole-frame segments; resolves once they are written (and synced for `always`). */
  append(segments: Buffer[]): Promise<void> {
    if (this.closing !== null) return Promise.reject(new Error(`capture file ${this.path} is closed`));
    let bytes = 0;
    for (const s of segments) bytes += s.length;
    if (bytes === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.queue.push({ segments, bytes, resolve });
      this.kick();
    });
  }

  /** Writes everything queued, syncs, closes. Waits (retrying) while the disk fails. */
  close(): Promise<void> {
    this.closing ??= this.finish();
    return this.closing;
  }

  private async finish(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    if (!this.opened) return;
    await new Promise<void>((resolve) => {
      if (!this.running && this.queue.length === 0) resolve();
      else this.idleWaiters.push(resolve);
    });
    const fd = this.fd;
    this.fd = null;
    if (fd !== null) {
      try {
        if (this.dirty) await this.fs.sync(fd);
        this.dirty = false;
      } catch (error) {
        this.fail(error);
      }
      await this.fs.close(fd).catch((error: unknown) => this.fail(error));
    }
    this.opened = false;
    openPaths.delete(this.path);
  }

  private kick(): void {
    if (this.running || !this.opened) return;
    this.running = true;
    void this.run();
  }

  /** The one writer loop: at most one write or sync in flight. */
  private async run(): Promise<void> {
    for (;;) {
      // Checked before each write, so a busy file still syncs on time.
      if (this.syncDue) {
        this.syncDue = false;
        if (this.dirty && this.fd !== null) await this.syncNow();
      }
      if (this.queue.length === 0) break;
      if (!(await this.writeSome())) await this.backoff();
    }
    this.running = false;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  /** Writes the appends at the queue front that fit the current file. False on failure. */
  private async writeSome(): Promise<boolean> {
    try {
      if (this.fd === null) await this.reopen();
      const queue = this.queue;
      if (this.size > 0 && this.size + queue[0].bytes > this.options.rotateBytes) await this.rotate();
      let n = 0;
      let bytes = 0;
      while (n < queue.length && (n === 0 || this.size + bytes + queue[n].bytes <= this.options.rotateBytes)) {
        bytes += queue[n].bytes;
        n++;
      }
      // The common case, one append, passes its own array: no copy of the list.
      const segments = n === 1 ? queue[0].segments : queue.slice(0, n).flatMap((a) => a.segments);
      this.repairTo = this.size;
      const fd = this.fd as number;
      const written = await this.fs.writev(fd, segments);
      if (written !== bytes) throw new ShortWriteError(written, bytes);
      // A failed sync may have lost the pages: rewrite the batch rather than trust a retried sync.
      if (this.options.fsync === 'always') {
        await this.fs.sync(fd);
        this.syncs++;
      } else this.dirty = true;
      this.repairTo = -1;
      this.size += bytes;
      this.bytesWritten += bytes;
      this.writes++;
      this.recovered();
      const done = queue.splice(0, n);
      for (const a of done) a.resolve();
      return true;
    } catch (error) {
      this.writeFailing = true; // before onError, so a listener sees the file unhealthy
      this.fail(error);
      await this.drop();
      return false;
    }
  }

  /** (Re)opens the live file; after a failed write, cuts it back to the last good size. */
  private async reopen(): Promise<void> {
    const fd = await this.fs.open(this.path);
    this.fd = fd;
    let size = await this.fs.size(fd);
    if (this.repairTo >= 0 && size > this.repairTo) {
      await this.fs.truncate(fd, this.repairTo);
      size = this.repairTo;
    }
    this.repairTo = -1;
    this.size = size;
  }

  private async rotate(): Promise<void> {
    const fd = this.fd as number;
    if (this.dirty && this.options.fsync !== 'never') await this.syncNow();
    this.fd = null;
    await this.fs.close(fd);
    const { keepFiles } = this.options;
    const path = this.path;
    if (keepFiles === 0) await this.fs.remove(path);
    else {
      await this.fs.remove(`${path}.${keepFiles}`);
      for (let k = keepFiles - 1; k >= 1; k--) await this.fs.rename(`${path}.${k}`, `${path}.${k + 1}`);
      await this.fs.rename(path, `${path}.1`);
    }
    this.rotations++;
    await this.reopen();
  }

  private async syncNow(): Promise<void> {
    try {
      await this.fs.sync(this.fd as number);
      this.syncs++;
      this.dirty = false;
      this.syncFailing = false;
    } catch (error) {
      // Stays dirty: the next interval tries again.
      this.syncFailing = true;
      this.fail(error);
    }
  }

  /** After a failure: close the descriptor (it may be the broken part); reopen repairs. */
  private async drop(): Promise<void> {
    const fd = this.fd;
    this.fd = null;
    if (fd !== null) await this.fs.close(fd).catch(() => undefined);
  }

  private backoff(): Promise<void> {
    const delay = backoffDelay(this.failures, { minMs: this.retryMinMs, maxMs: this.retryMaxMs });
    return new Promise((resolve) => setTimeout(resolve, delay));
  }

  private fail(error: unknown): void {
    const err = error instanceof Error ? error : new Error(String(error));
    this.failures++;
    this.errors++;
    this.lastError = err;
    this.onError?.(err);
  }

  private recovered(): void {
    this.failures = 0;
    if (!this.writeFailing) return;
    this.writeFailing = false;
    this.onRecover?.();
  }
}
