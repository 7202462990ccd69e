/**
 * onDurable callbacks of written appends that wait for a sync (fsync
 * `always` and `interval`). Owned by one CaptureFile's writer loop.
 *
 * The rule (docs/reliability.md, Acknowledgements): a callback fires only after a sync that
 * covers its write, and after the path check that follows the sync found
 * the synced file still named by the capture path (a sync of a removed file
 * makes nothing durable). Callbacks fire in append order: writes happen in
 * queue order, and one successful sync-and-check releases every callback
 * waiting before it (group commit). A file closed before that never fires
 * them (drop()).
 */
export class DurableCallbacks {
  private waiting: Array<() => void> = [];

  get length(): number {
    return this.waiting.length;
  }

  add(callback: () => void): void {
    this.waiting.push(callback);
  }

  /** A sync and a path check succeeded after every waiting write: they are durable. */
  fire(report: (error: unknown) => void): void {
    if (this.waiting.length === 0) return;
    const due = this.waiting;
    this.waiting = [];
    for (const callback of due) {
      try {
        callback();
      } catch (error) {
        report(error); // one caller's bug must not stop the others' commits or the writer
      }
    }
  }

  /** Closed before durable: never called (their frames are not known to be on disk). */
  drop(): void {
    this.waiting = [];
  }
}
