/**
 * Bad input must never flood the log: each key (a reason, a handler) gets at
 * most `burst` lines per `intervalMs`; the next line after a quiet spell
 * says how many were suppressed.
 */
import type { Logger } from 'pino';

interface Bucket {
  windowStart: number;
  count: number;
  suppressed: number;
}

export class RateLimitedLog {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly burst = 10,
    private readonly intervalMs = 10_000,
  ) {}

  warn(log: Logger, key: string, fields: Record<string, unknown>, msg: string): void {
    const now = Date.now();
    let b = this.buckets.get(key);
    if (b === undefined) {
      b = { windowStart: now, count: 0, suppressed: 0 };
      this.buckets.set(key, b);
    }
    if (now - b.windowStart >= this.intervalMs) {
      b.windowStart = now;
      b.count = 0;
    }
    if (b.count >= this.burst) {
      b.suppressed++;
      return;
    }
    b.count++;
    if (b.suppressed > 0) {
      log.warn({ ...fields, suppressed: b.suppressed }, msg);
      b.suppressed = 0;
    } else log.warn(fields, msg);
  }
}
