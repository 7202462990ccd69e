/**
 * One clock read per tick instead of one per read: connections stamp their
 * activity with `now`, and the same tick sweeps for idle connections.
 */
export class CoarseClock {
  now = Date.now();
  tick(): number {
    return (this.now = Date.now());
  }
  /** Wall clock in microseconds (for packet lag), read once per batch. */
  wallMicros(): number {
    return Date.now() * 1000;
  }
}
