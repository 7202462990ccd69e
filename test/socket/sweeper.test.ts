/**
 * The sweeper (src/socket/sweeper.ts) with fake connections and fake
 * timers: idle connections close only after tcp.idleTimeoutMs plus one
 * tick, paused ones never count as idle, quiet ones shed their ring, and the
 * stall readiness reports starts when every connection is paused.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import pino from 'pino';
import { RateLimitedLog } from '../../src/log/rate-limited-log.js';
import { CoarseClock } from '../../src/socket/coarse-clock.js';
import { Sweeper, sweepTickMs, type SweptConnection } from '../../src/socket/sweeper.js';
import type { FinalReason } from '../../src/wire/ack.js';

class FakeConnection implements SweptConnection {
  paused = false;
  destroyedWith: FinalReason | null = null;
  sheds = 0;
  readonly log = pino({ level: 'silent' });
  readonly reader = { oldestHoldSince: -1, oldestHolders: () => [], end: () => {}, close: () => {} };
  constructor(public lastActive: number) {}
  destroy(reason: FinalReason): void {
    this.destroyedWith = reason;
  }
  shed(): void {
    this.sheds++;
  }
}

describe('sweepTickMs', () => {
  it('is a quarter of the shortest timeout, between 50 ms and 1 s', () => {
    expect(sweepTickMs(0, 0)).toBe(1000);
    expect(sweepTickMs(60_000, 0)).toBe(1000);
    expect(sweepTickMs(2000, 0)).toBe(500);
    expect(sweepTickMs(2000, 400)).toBe(100);
    expect(sweepTickMs(0, 100)).toBe(50);
  });
});

describe('Sweeper', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function start(conns: FakeConnection[], idleTimeoutMs: number) {
    const clock = new CoarseClock();
    const ticks: number[] = [];
    const set = new Set<SweptConnection>(conns);
    const sweeper = new Sweeper(set, clock, {
      idleTimeoutMs,
      timeouts: null,
      handlerTimeoutMs: 0,
      rateLog: new RateLimitedLog(),
      afterTick: (open) => ticks.push(open),
    });
    sweeper.start();
    return { sweeper, ticks, clock };
  }

  it('closes an idle connection after idleTimeoutMs plus one tick, never before; a paused one stays', () => {
    const now = Date.now();
    const idle = new FakeConnection(now);
    const paused = new FakeConnection(now);
    paused.paused = true;
    const { sweeper, ticks } = start([idle, paused], 2000); // tick 500 ms
    vi.advanceTimersByTime(2500); // quiet 2500 = idle + tick: not yet over
    expect(ticks.length).toBe(5); // the sweep ran five times meanwhile
    expect(idle.destroyedWith).toBeNull();
    vi.advanceTimersByTime(500);
    expect(idle.destroyedWith).toBe('idle_timeout');
    expect(paused.destroyedWith).toBeNull();
    sweeper.stop();
  });

  it('sheds the ring of a connection quiet for more than 10 s when idle timeouts are off', () => {
    const conn = new FakeConnection(Date.now());
    const { sweeper, ticks } = start([conn], 0); // tick 1 s
    vi.advanceTimersByTime(10_000);
    expect(ticks.length).toBe(10);
    expect(conn.sheds).toBe(0);
    vi.advanceTimersByTime(1000);
    expect(conn.sheds).toBe(1);
    expect(conn.destroyedWith).toBeNull();
    sweeper.stop();
  });

  it('reports a stall from the first tick every connection was paused, and 0 once one reads again', () => {
    const a = new FakeConnection(Date.now());
    const b = new FakeConnection(Date.now());
    const { sweeper } = start([a, b], 0);
    a.paused = b.paused = true;
    expect(sweeper.stalledForMs()).toBe(0); // no tick has seen it yet
    vi.advanceTimersByTime(1000);
    const since = Date.now();
    vi.advanceTimersByTime(3000);
    expect(sweeper.stalledForMs()).toBe(Date.now() - since);
    b.paused = false;
    expect(sweeper.stalledForMs()).toBe(0);
    sweeper.stop();
  });

  it('stops ticking after stop()', () => {
    const { sweeper, ticks } = start([], 0);
    vi.advanceTimersByTime(3000);
    expect(ticks.length).toBe(3);
    sweeper.stop();
    vi.advanceTimersByTime(5000);
    expect(ticks.length).toBe(3);
  });
});
