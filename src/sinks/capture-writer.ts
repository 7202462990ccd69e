/**
 * The capture file's writer loop: the one owner of the live descriptor.
 *
 *   each turn:  path check due / orphan? --> keepPath (check, adopt a new file)
 *               sync due?                --> sync, check, fire onDurable
 *               queue empty?             --> stop (closing: one last check + sync)
 *               else                     --> writeSome (rotate at a frame boundary first)
 *   a failure:  cut the torn tail now, retire the descriptor, back off, retry
 *
 * A write carries whole frames only, so one that fails or comes up short is
 * cut back (ftruncate) at once to the last good size and retried whole,
 * with backoff; its appends stay pending (the caller's ring bytes held,
 * producers paused): nothing is dropped, memory stays bounded.
 *
 * fsync decides when writes are forced to disk, and when onDurable fires:
 * `always` one sync per coalesced write (group commit) before its appends
 * resolve, `interval` every fsyncIntervalMs and before a rotation, `never`
 * not while running (onDurable when the write returned).
 *
 * Rotation, before a frame that would take the file past rotateBytes
 * (unless the file is empty): path.(k) -> path.(k+1), path -> path.1, then
 * a fresh path. A rotated file ends within one frame of rotateBytes.
 *
 * Lost path (capture-salvage.ts): checked every pathCheckMs and after every
 * sync; a removed file's frames from keepFrom on are copied into the new
 * file (capture-live.ts), so no frame written after the last good check is
 * lost, and onDurable never fires for a sync of a file no path names.
 */
import { resolve } from 'node:path';
import { backoffDelay } from '../retry/backoff.js';
import { nodeCaptureFs, type CaptureFs } from './capture-fs.js';
import { AppendQueue, type Batch } from './capture-queue.js';
import { DurableCallbacks } from './capture-durable.js';
import { LiveFile, type Orphan } from './capture-live.js';
import { shiftRotated } from './capture-rotation.js';
import type { PathState } from './capture-salvage.js';
import { CapturePathLostError, type CaptureFileOptions } from './capture-types.js';


export class CaptureWriter {
  readonly path: string;
  bytesWritten = 0;
  writes = 0;
  rotations = 0;
  syncs = 0;
  /** Failed writes, syncs, rotations, lost paths (each retry counts). */
  errors = 0;
  pathLosses = 0;
  /** Bytes copied from removed files into their replacements. */
  salvagedBytes = 0;
  lastSyncAt: number | null = null;
  lastError: Error | null = null;
  /** Called on every failure (for logs and metrics); the writer keeps retrying. */
  onError: ((error: Error) => void) | null = null;
  /** Called when writing works again after failures. */
  onRecover: (() => void) | null = null;
  /** Called when open() cuts a torn last frame (left by a crash) off at `offset`. */
  onRepair: ((offset: number) => void) | null = null;
  /** A rotation moved `bytes` to `rotatedTo` (null: deleted, keepFiles 0); `pruned` were deleted. */
  onRotate: ((rotatedTo: string | null, bytes: number, pruned: readonly string[]) => void) | null = null;

  protected readonly options: CaptureFileOptions;
  protected readonly fs: CaptureFs;
  private readonly retryMinMs: number;
  private readonly retryMaxMs: number;
  protected readonly queue = new AppendQueue();
  protected readonly durable = new DurableCallbacks();
  protected readonly live: LiveFile;
  protected orphan: Orphan | null = null;
  protected running = false;
  protected opened = false;
  protected draining = false;
  protected finalPass = false;
  protected aborting = false;
  protected syncDue = false;
  protected checkDue = false;
  private failures = 0;
  protected writeFailing = false;
  protected syncFailing = false;
  protected idleWaiters: Array<() => void> = [];
  protected wake: (() => void) | null = null;

  constructor(options: CaptureFileOptions) {
    this.options = options;
    this.path = resolve(options.path);
    this.fs = options.fs ?? nodeCaptureFs;
    this.retryMinMs = options.retryMinMs ?? 100;
    this.retryMaxMs = options.retryMaxMs ?? 5000;
    this.live = new LiveFile(this.fs, this.path);
  }

  protected kick(): void {
    if (this.running || !this.opened) return;
    this.running = true;
    void this.run();
  }

  /** The one writer loop: at most one write, sync or check in flight. */
  private async run(): Promise<void> {
    while (!this.aborting) {
      if ((this.checkDue || this.orphan !== null) && !(await this.attempt(() => this.keepPath()))) {
        await this.backoff();
        continue;
      }
      // Checked before each write, so a busy file still syncs on time.
      if (this.syncDue) {
        this.syncDue = false;
        if (this.live.dirty && this.live.fd !== null) await this.syncAndCommit();
      }
      if (this.orphan !== null) continue; // a lost path found by that sync: salvage before any new frame
      if (this.queue.length === 0) {
        if (!this.draining || this.finalPass) break;
        this.finalPass = this.checkDue = this.syncDue = true;
        continue;
      }
      if (!(await this.attempt(() => this.writeSome()))) await this.backoff();
    }
    this.running = false;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private async attempt(step: () => Promise<void>): Promise<boolean> {
    try {
      await step();
      return true;
    } catch (error) {
      await this.failed(error);
      return false;
    }
  }

  /** Writes the next batch: the appends that fit the current file, up to a frame boundary. */
  private async writeSome(): Promise<void> {
    const live = this.live;
    if (live.fd === null) await live.open();
    let batch: Batch | null = this.queue.take(this.options.rotateBytes - live.size, live.size === 0);
    if (batch === null) {
      if (!(await this.rotate())) return; // the path was lost: salvage first
      batch = this.queue.take(this.options.rotateBytes, true) as Batch;
    }
    await live.write(batch.segments, batch.bytes);
    // A failed sync may have lost the pages: rewrite the batch rather than trust a retried sync.
    // always: the fstat (is the file still linked?) runs beside the sync, so the check costs no extra wait.
    const linked = this.options.fsync === 'always' ? await this.syncNow(true) : ((live.dirty = true), true);
    live.accept(batch.bytes);
    this.bytesWritten += batch.bytes;
    this.writes++;
    this.recovered();
    for (const a of this.queue.written(batch)) {
      a.resolve();
      if (a.onDurable !== undefined) this.durable.add(a.onDurable);
    }
    if (this.options.fsync === 'never') this.durable.fire(this.reportCallback);
    else if (this.options.fsync === 'always') this.commitIf(linked ? 'same' : 'removed');
  }

  /** False if the path was found lost instead (the loop salvages, then rotates). */
  private async rotate(): Promise<boolean> {
    const live = this.live;
    if (live.dirty && this.options.fsync !== 'never') await this.syncNow();
    if (!(await this.commitChecked())) return false;
    const bytes = live.size;
    live.dirty = false;
    await live.drop();
    const { rotatedTo, pruned } = await shiftRotated(this.fs, this.path, this.options.keepFiles);
    this.rotations++;
    this.onRotate?.(rotatedTo, bytes, pruned);
    await live.open();
    return true;
  }

  /** Syncs; with `stat`, also answers whether the file was still linked (an fstat beside the sync). */
  private async syncNow(stat = false): Promise<boolean> {
    const linked = await (stat ? this.live.syncLinked() : this.live.sync().then(() => true));
    this.syncs++;
    this.lastSyncAt = Date.now();
    this.syncFailing = false;
    return linked;
  }

  /** Interval and close syncs: a failure stays dirty and the next one tries again. */
  private async syncAndCommit(): Promise<void> {
    try {
      await this.syncNow();
      await this.commitChecked();
    } catch (error) {
      // Caveat (docs/reliability.md): after a failed fdatasync Linux may have dropped the pages.
      this.syncFailing = true;
      this.fail(error);
    }
  }

  /** After a sync: if the path still names the synced file, every waiting onDurable is true. */
  private async commitChecked(): Promise<boolean> {
    if (this.live.fd === null) return true;
    return this.commitIf(await this.live.check());
  }

  /** Fires the waiting onDurable callbacks if the synced file is still the path's; else retires it. */
  private commitIf(state: PathState): boolean {
    if (state !== 'same') return this.lose(state);
    this.durable.fire(this.reportCallback);
    this.live.keepFrom = this.live.size;
    return true;
  }

  /** The watcher's turn: check the path, move to a new file if it was lost. */
  private async keepPath(): Promise<void> {
    this.checkDue = false;
    if (this.orphan === null && (await this.checkPath()) && this.durable.length === 0) this.live.keepFrom = this.live.size;
    if (this.orphan === null) return;
    this.salvagedBytes += await this.live.adopt(this.orphan);
    this.orphan = null;
    // Waiting onDurable callbacks need a sync of the file that holds their frames now.
    if (this.durable.length > 0) this.live.dirty = this.syncDue = true;
    this.recovered();
  }

  private async checkPath(): Promise<boolean> {
    if (this.live.fd === null) return true;
    const state = await this.live.check();
    return state === 'same' || this.lose(state);
  }

  /** The path no longer names the live file: retire it; the loop adopts the path's file next. */
  private lose(state: PathState): false {
    this.pathLosses++;
    this.fail(new CapturePathLostError(this.path, state));
    // A moved file keeps its bytes under its new name; only a removed one needs its tail copied.
    this.orphan = this.live.retire(state === 'removed' ? this.live.keepFrom : this.live.size);
    return false;
  }

  /** After a failure: cut a torn tail at once (not only before the retry), then retire the descriptor. */
  private async failed(error: unknown): Promise<void> {
    this.writeFailing = true; // before onError, so a listener sees the file unhealthy
    this.fail(error);
    if (this.live.fd === null) return;
    const cut = await this.live.cutTail();
    // It may be the broken part: the retry reopens the path, and adopt() tells the same file from a new one.
    if (this.orphan === null) this.orphan = this.live.retire();
    else if (cut) await this.live.drop(); // a failed salvage: the old descriptor stays the orphan
    // else a failed salvage whose cut failed too: keep the new descriptor, adopt() cuts before copying again
  }

  private backoff(): Promise<void> {
    if (this.aborting) return Promise.resolve(); // close() gave up: the loop only has to end
    const delay = backoffDelay(this.failures, { minMs: this.retryMinMs, maxMs: this.retryMaxMs });
    return new Promise((resolve) => {
      const timer = setTimeout(() => ((this.wake = null), resolve()), delay);
      // close() past its deadline ends the wait at once.
      this.wake = () => (clearTimeout(timer), (this.wake = null), resolve());
    });
  }

  /** A throwing onDurable is the caller's bug: counted, and the writer goes on. */
  private readonly reportCallback = (error: unknown): void => this.fail(error);

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
