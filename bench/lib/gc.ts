/**
 * Counts young-generation (minor, scavenge) GCs inside a time window.
 *
 * 'gc' performance entries reach the observer asynchronously, after the GC
 * and a turn of the event loop. So the counter records every entry's start
 * time, and the measured code (synchronous) is bracketed with
 * performance.now(); `countMinor(t0, t1)` then waits for delivery and counts
 * the entries inside the window. GCs of the harness before or after the
 * window (warm-up, stream building, the forced gc()) are not counted.
 */
import { PerformanceObserver, constants, performance } from 'node:perf_hooks';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';

export class GcCounter {
  /** Start time and duration (ms) of each minor GC seen, oldest first. */
  private readonly minor: Array<{ start: number; duration: number }> = [];
  private readonly observer: PerformanceObserver;

  constructor() {
    this.observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        // @types/node 20 does not declare `detail` on gc entries; Node sets it.
        const { detail } = entry as { detail?: { kind?: number } | null };
        if (detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) this.minor.push({ start: entry.startTime, duration: entry.duration });
      }
    });
    this.observer.observe({ entryTypes: ['gc'] });
  }

  /** Minor GCs that started in [t0, t1] (performance.now() times), and their total pause in ms. */
  async countMinor(t0: number, t1: number): Promise<{ count: number; ms: number }> {
    // The GC callback queues the entry, the observer dispatches on a later turn.
    await nextTurn();
    await nextTurn();
    await sleep(5);
    let count = 0;
    let ms = 0;
    for (const gc of this.minor) {
      if (gc.start >= t0 && gc.start <= t1) {
        count++;
        ms += gc.duration;
      }
    }
    // Entries before t1 are of no further use: keep the list short.
    const later = this.minor.filter((gc) => gc.start > t1);
    this.minor.length = 0;
    this.minor.push(...later);
    return { count, ms };
  }

  close(): void {
    this.observer.disconnect();
  }
}

type GcFunction = () => void;

/** The exposed `gc()` (node --expose-gc), or null. */
export function exposedGc(): GcFunction | null {
  const gc = (globalThis as { gc?: unknown }).gc;
  return typeof gc === 'function' ? (gc as GcFunction) : null;
}

/** A full collection if `gc()` is exposed, so one contender's garbage is not collected on another's clock. */
export function collectGarbage(): void {
  exposedGc()?.();
}

export { performance };
