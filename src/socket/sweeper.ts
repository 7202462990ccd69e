/**
 * The one coarse timer every connection of a server shares (undici keeps
 * one timer wheel for the same reason: a timer per socket costs more than
 * the work it guards). Each tick:
 *
 *   clock.tick()                          connections stamp activity with it
 *   per connection:
 *     a hold past limits.handlerTimeoutMs  -> HandlerTimeouts ends it
 *     paused by backpressure               -> skipped (not idleness)
 *     quiet > tcp.idleTimeoutMs            -> closed (FINAL idle_timeout in ack mode)
 *     quiet > SHED_AFTER_MS                -> its ring goes back to the pool
 *   every connection paused                -> the stall readiness reports began
 *   descriptors near the cap               -> counted again (admission.ts)
 */
import type { HandlerTimeouts, TimedConnection } from '../handlers/handler-timeout.js';
import type { RateLimitedLog } from '../log/rate-limited-log.js';
import type { FinalReason } from '../wire/ack.js';
import type { CoarseClock } from './coarse-clock.js';

/** A connection quiet this long after a burst gives its ring back to the pool. */
const SHED_AFTER_MS = 10_000;

export interface SweptConnection extends TimedConnection {
  readonly lastActive: number;
  readonly paused: boolean;
  destroy(reason: FinalReason): void;
  shed(): void;
}

export interface SweepOptions {
  /** tcp.idleTimeoutMs; 0 disables. */
  readonly idleTimeoutMs: number;
  /** Null when limits.handlerTimeoutMs is 0. */
  readonly timeouts: HandlerTimeouts | null;
  readonly handlerTimeoutMs: number;
  readonly rateLog: RateLimitedLog;
  /** After each tick, with the number of open connections. */
  readonly afterTick: (connections: number) => void;
}

/** A quarter of the shortest timeout, 50 ms to 1 s: idle fires at most two ticks late, a handler timeout one. */
export function sweepTickMs(idleTimeoutMs: number, handlerTimeoutMs: number): number {
  const shortest = Math.min(idleTimeoutMs > 0 ? idleTimeoutMs : Infinity, handlerTimeoutMs > 0 ? handlerTimeoutMs : Infinity);
  return Number.isFinite(shortest) ? Math.min(1000, Math.max(50, shortest >>> 2)) : 1000;
}

export class Sweeper {
  readonly tickMs: number;
  /** Since when every open connection has been paused by backpressure (null: not all), per the last tick. */
  private stalledSince: number | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly connections: ReadonlySet<SweptConnection>,
    private readonly clock: CoarseClock,
    private readonly opts: SweepOptions,
  ) {
    this.tickMs = sweepTickMs(opts.idleTimeoutMs, opts.handlerTimeoutMs);
  }

  start(): void {
    this.timer = setInterval(() => this.sweep(), this.tickMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /**
   * How long every open connection has been paused by backpressure (0: not
   * all, or no connections). The sweep notes when it began; this confirms it
   * still holds right now.
   */
  stalledForMs(now = Date.now()): number {
    if (this.stalledSince === null || !this.allPaused()) return 0;
    return Math.max(0, now - this.stalledSince);
  }

  /** True if there are connections and every one is paused by backpressure. */
  allPaused(): boolean {
    if (this.connections.size === 0) return false;
    for (const conn of this.connections) if (!conn.paused) return false;
    return true;
  }

  private sweep(): void {
    const now = this.clock.tick();
    const { idleTimeoutMs: idleMs, timeouts } = this.opts;
    let allPaused = this.connections.size > 0;
    for (const conn of this.connections) {
      if (timeouts !== null && timeouts.check(conn, now)) continue; // checked paused or not: a stuck hold pauses
      const quiet = now - conn.lastActive;
      if (conn.paused) continue; // backpressure is not idleness
      allPaused = false;
      // Activity is stamped with the coarse clock, up to one tick stale: allow
      // that tick, so no connection is closed before idleTimeoutMs (at most
      // two ticks, half the timeout, after it).
      if (idleMs > 0 && quiet > idleMs + this.tickMs) {
        this.opts.rateLog.warn(conn.log, 'idle', { idleMs: quiet }, 'idle timeout: closing connection');
        conn.destroy('idle_timeout');
      } else if (quiet > SHED_AFTER_MS) conn.shed();
    }
    this.stalledSince = allPaused ? (this.stalledSince ?? now) : null;
    this.opts.afterTick(this.connections.size);
    timeouts?.sweepFinished(now);
  }
}
