/**
 * An append-only, rotating capture file that never holds a torn frame: the
 * public face (open, append, close, status) of the writer loop in
 * capture-writer.ts.
 *
 *   append(segments, onDurable) --> AppendQueue --(one writev in flight)--> file
 *        promise: written              everything queued meanwhile goes in the next writev
 *        onDurable: committed          (capture-durable.ts: after the sync and path check)
 *
 * Open: creates missing directories, cuts a torn tail a crash left
 * (torn-tail.ts), starts the sync and path-check timers (unref'd). Close:
 * drains the queue, checks the path, syncs once in every mode; past its
 * deadline (a full disk) it gives up, rejects the appends left, and counts
 * their frames; the torn tail of a failed write was already cut.
 */
import { CaptureError } from '../errors.js';
import { dirname } from 'node:path';
import { tornTailOffset } from './torn-tail.js';
import { countFrames } from './capture-frames.js';
import { CaptureWriter } from './capture-writer.js';
import type { CaptureFs } from './capture-fs.js';
import type { Orphan } from './capture-live.js';
import { copyRange } from './capture-salvage.js';
import type { CaptureStatus, CloseResult } from './capture-types.js';

export { ShortWriteError } from './capture-live.js';
export { CapturePathLostError, type CaptureFileOptions, type CaptureStatus, type CloseResult, type FsyncMode } from './capture-types.js';

/** Paths open for writing in this process: one writer per file. */
const openPaths = new Set<string>();
const ABORT_GRACE_MS = 200;

export class CaptureFile extends CaptureWriter {
  private closing: Promise<CloseResult> | null = null;
  private timers: NodeJS.Timeout[] = [];

  /** False while writes (or interval syncs) are failing. */
  get healthy(): boolean {
    return !this.writeFailing && !this.syncFailing;
  }

  /** Bytes in the live file. */
  get fileSize(): number {
    return this.live.size;
  }

  /** Bytes queued or being written. */
  get pendingBytes(): number {
    return this.queue.pendingBytes;
  }

  /** For /status. */
  status(): CaptureStatus {
    const { path, bytesWritten, lastSyncAt, rotations, errors, pendingBytes } = this;
    return { path, bytesWritten, lastSyncAt, rotations, errors, pendingBytes };
  }

  /** Creates missing directories and opens the file for append. Throws if it cannot. */
  async open(): Promise<void> {
    if (this.opened) return;
    if (openPaths.has(this.path)) throw new CaptureError(`${this.path} is already open by another capture writer in this process`);
    openPaths.add(this.path);
    try {
      await this.fs.mkdir(dirname(this.path));
      const tornAt = tornTailOffset(this.path);
      if (tornAt >= 0) this.onRepair?.(tornAt);
      await this.live.open();
      if (tornAt >= 0 && this.live.size > tornAt) {
        await this.fs.truncate(this.live.fd as number, tornAt);
        this.live.size = this.live.keepFrom = tornAt;
      }
    } catch (error) {
      await this.live.drop();
      openPaths.delete(this.path);
      throw error;
    }
    this.opened = true;
    // Timers only raise flags for the writer loop; neither keeps the process alive.
    const every = (ms: number, raise: () => void) => this.timers.push(setInterval(() => (raise(), this.kick()), ms).unref());
    if (this.options.fsync === 'interval') every(this.options.fsyncIntervalMs, () => (this.syncDue = true));
    every(this.options.pathCheckMs ?? 500, () => (this.checkDue = true));
  }

  /**
   * Queues whole-frame segments; resolves once they are written (and synced
   * for `always`). `onDurable` fires once they are committed per the fsync
   * mode (docs/reliability.md, Acknowledgements), in append order; never if the file closes first.
   */
  append(segments: Buffer[], onDurable?: () => void): Promise<void> {
    if (this.closing !== null) return Promise.reject(new CaptureError(`capture file ${this.path} is closed`));
    let bytes = 0;
    for (const s of segments) bytes += s.length;
    if (bytes === 0 && this.queue.length === 0 && this.durable.length === 0) {
      onDurable?.(); // nothing to write and nothing before it to wait for
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ segments, bytes, resolve, reject, onDurable });
      this.kick();
    });
  }

  /**
   * Writes everything queued, checks the path, syncs, closes. Retries while
   * the disk fails, up to `timeoutMs`; then gives up: the appends left are
   * rejected, no torn tail stays on disk, and the result counts them.
   */
  close(timeoutMs = this.options.closeTimeoutMs ?? 5000): Promise<CloseResult> {
    this.closing ??= this.finish(timeoutMs);
    return this.closing;
  }

  private async finish(timeoutMs: number): Promise<CloseResult> {
    for (const t of this.timers) clearInterval(t);
    if (!this.opened) return { unwrittenFrames: 0, unwrittenBytes: 0 };
    this.draining = true; // the loop ends with a path check and a sync, in every mode
    this.kick();
    const idle = new Promise<void>((resolve) => (this.running ? this.idleWaiters.push(resolve) : resolve()));
    if (!(await settlesWithin(idle, timeoutMs))) {
      this.aborting = true;
      this.wake?.();
      await settlesWithin(idle, ABORT_GRACE_MS); // a write stuck in the kernel is not waited for
    }
    const left = this.queue.drain();
    let unwrittenFrames = 0;
    let unwrittenBytes = 0;
    for (const a of left) {
      unwrittenFrames += countFrames(a.segments);
      unwrittenBytes += a.bytes;
    }
    const gaveUp = new CaptureError(`capture file ${this.path} closed with ${unwrittenFrames} frames unwritten`);
    for (const a of left) a.reject(gaveUp);
    this.durable.drop();
    // A write stuck in the kernel keeps its descriptor: the process is exiting anyway.
    if (!this.running) {
      await this.live.cutTail(); // the cut right after a failure may have failed itself: once more
      await this.live.drop();
      if (this.orphan !== null) {
        const lost = await retireOrphan(this.fs, this.orphan);
        unwrittenFrames += lost.frames;
        unwrittenBytes += lost.bytes;
      }
    }
    this.orphan = null;
    this.opened = false;
    openPaths.delete(this.path);
    return { unwrittenFrames, unwrittenBytes };
  }
}

/**
 * A descriptor still retired at close: no bytes past its last whole frame
 * stay on disk, and the frames a removed file still held for salvage count
 * as unwritten.
 */
async function retireOrphan(fs: CaptureFs, orphan: Orphan): Promise<{ frames: number; bytes: number }> {
  let lost = { frames: 0, bytes: 0 };
  try {
    const own = await fs.identity(orphan.fd);
    if (own.nlink === 0 && orphan.goodSize > orphan.keepFrom) {
      const chunks: Buffer[] = [];
      await copyRange(fs, orphan.fd, orphan.keepFrom, orphan.goodSize, async (chunk) => void chunks.push(Buffer.from(chunk)));
      lost = { frames: countFrames(chunks), bytes: orphan.goodSize - orphan.keepFrom };
    } else if (own.size > orphan.goodSize) await fs.truncate(orphan.fd, orphan.goodSize);
  } catch {
    // Best effort: the next open() cuts a torn tail too (torn-tail.ts).
  }
  await fs.close(orphan.fd).catch(() => undefined);
  return lost;
}

/** True if `promise` settled within `ms`. */
async function settlesWithin(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const result = await Promise.race([promise.then(() => true as const), late]);
  clearTimeout(timer);
  return result;
}
