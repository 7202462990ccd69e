/**
 * Deterministic byte and choice generators for tests: fast-check draws a
 * seed, these expand it. Filling 70,000 payload bytes through fast-check
 * itself would dominate the run time for no extra coverage.
 */
import { Prng } from '../../load/lib/prng.js';

/** mulberry32 (load/lib/prng.ts) as a function giving u32 values. */
export function prng(seed: number): () => number {
  const p = new Prng(seed);
  return () => p.nextU32();
}

/** `length` pseudo-random bytes from `seed`. */
export function seededBytes(length: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  const next = prng(seed);
  let i = 0;
  for (; i + 4 <= length; i += 4) out.writeUInt32LE(next(), i);
  for (; i < length; i++) out[i] = next() & 0xff;
  return out;
}

/** A random integer in [0, n) from a PRNG. */
export function pick(next: () => number, n: number): number {
  return next() % n;
}
