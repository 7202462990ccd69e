/**
 * A small seeded PRNG (mulberry32): the same seed gives the same frames on
 * every machine and Node version, which Math.random cannot promise.
 */
export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform unsigned 32-bit integer. */
  nextU32(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform integer in [min, max] (both inclusive, max - min < 2^32). */
  int(min: number, max: number): number {
    return min + Math.floor((this.nextU32() / 0x1_0000_0000) * (max - min + 1));
  }

  /** Fills buf[start, end) with random bytes, four per draw. */
  fill(buf: Uint8Array, start: number, end: number): void {
    let i = start;
    for (const last = end - 4; i <= last; i += 4) {
      const v = this.nextU32();
      buf[i] = v;
      buf[i + 1] = v >>> 8;
      buf[i + 2] = v >>> 16;
      buf[i + 3] = v >>> 24;
    }
    if (i < end) {
      let v = this.nextU32();
      for (; i < end; i++, v >>>= 8) buf[i] = v;
    }
  }
}
