/**
 * Waiting for a capture to grow, for follow mode: fs.watch on the
 * directory (a write, a rename, a new file all show up there) wakes the
 * reader at once; a poll timer wakes it anyway, for file systems where
 * fs.watch is silent (network mounts, some containers). Owns one watcher,
 * opened on the first wait and closed by close() (end of iteration).
 */
import fs from 'node:fs';
import nodePath from 'node:path';

export class FollowWaiter {
  private watcher: fs.FSWatcher | null = null;
  private wake: (() => void) | null = null;
  /** A change seen while nobody waited: the next wait returns at once. */
  private changed = false;
  private readonly dir: string;
  private readonly pollMs: number;
  private readonly signal: AbortSignal | undefined;

  constructor(livePath: string, pollMs: number, signal?: AbortSignal) {
    this.dir = nodePath.dirname(livePath);
    this.pollMs = pollMs;
    this.signal = signal;
  }

  /** Resolves on a change in the directory, after pollMs, or when the signal aborts. */
  wait(): Promise<void> {
    this.watch();
    if (this.changed || this.signal?.aborted) {
      this.changed = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.signal?.removeEventListener('abort', done);
        this.wake = null;
        resolve();
      };
      const timer = setTimeout(done, this.pollMs);
      this.signal?.addEventListener('abort', done, { once: true });
      this.wake = done;
    });
  }

  close(): void {
    this.watcher?.close();
    this.watcher = null;
    this.wake?.();
  }

  private watch(): void {
    if (this.watcher !== null) return;
    try {
      this.watcher = fs.watch(this.dir, { persistent: false }, () => {
        if (this.wake !== null) this.wake();
        else this.changed = true;
      });
      this.watcher.on('error', () => {
        // The poll timer carries on alone.
        this.watcher?.close();
      });
    } catch {
      // No watcher on this file system: polling only.
    }
  }
}
