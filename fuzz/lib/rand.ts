/**
 * Seeded choices for the fuzzer, on the load generator's PRNG (mulberry32):
 * the same seed gives the same inputs on every machine and Node version.
 */
import { Prng } from '../../load/lib/prng.js';

export class Rand {
  private readonly prng: Prng;

  constructor(seed: number) {
    this.prng = new Prng(seed);
  }

  u32(): number {
    return this.prng.nextU32();
  }

  /** Uniform integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    return this.prng.int(min, max);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.prng.nextU32() < p * 0x1_0000_0000;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.prng.int(0, items.length - 1)];
  }

  /** Picks by weight: `[[weight, value], ...]`. */
  weighted<T>(choices: ReadonlyArray<readonly [number, T]>): T {
    let total = 0;
    for (const [w] of choices) total += w;
    let x = this.prng.int(0, total - 1);
    for (const [w, v] of choices) {
      if (x < w) return v;
      x -= w;
    }
    return choices[choices.length - 1][1];
  }

  fill(buf: Uint8Array, start = 0, end = buf.length): void {
    this.prng.fill(buf, start, end);
  }

  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    this.prng.fill(b, 0, n);
    return b;
  }
}

/** A well-spread seed for input `index` of the run seeded `seed`. */
export function inputSeed(seed: number, index: number): number {
  let h = (seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}
