/**
 * One fuzz input: the bytes, and every choice of how they are fed (ring
 * size, limits, policy, read path, cut points, how often a handler holds a
 * frame). Input `index` of the run seeded `seed` is always the same case,
 * so a failure is reproduced from those two numbers alone.
 */
import type { DecoderLimits } from '../../src/frame/frame-decoder.js';
import type { ErrorPolicy } from '../../src/frame/frame-reader.js';
import { generateStream, type FrameInfo } from './generate.js';
import { mutate } from './mutate.js';
import { inputSeed, Rand } from './rand.js';

export type FeedMode = 'readBuffer' | 'write';

export interface FuzzCase {
  /** Seeds the feeder's own choices (holds, releases, end order). */
  seed: number;
  bytes: Buffer;
  ringBytes: number;
  limits: DecoderLimits;
  policy: ErrorPolicy;
  /** readBuffer + committed (the onread path) or write (the 'data' event path). */
  mode: FeedMode;
  /** Chunk sizes, cycled over the stream. */
  cuts: number[];
  /** Probability that a handler holds a frame with a promise. */
  holdRate: number;
  /** Names of the mutations applied, for the report. */
  mutations: string[];
}

/** The server's defaults, small limits, and limits a mutated length lands on exactly. */
export const LIMIT_SETS: ReadonlyArray<readonly [number, DecoderLimits]> = [
  [5, { maxPayloadBytes: 1 << 20, maxHeaderBytes: 4096 }],
  [2, { maxPayloadBytes: 1000, maxHeaderBytes: 256 }],
  [2, { maxPayloadBytes: 70_000, maxHeaderBytes: 64 }],
  [1, { maxPayloadBytes: 0, maxHeaderBytes: 26 }],
];

export const POLICIES: readonly ErrorPolicy[] = [
  { onFrameError: 'close', onChecksumError: 'drop' },
  { onFrameError: 'close', onChecksumError: 'close' },
  { onFrameError: 'resync', onChecksumError: 'drop' },
  { onFrameError: 'resync', onChecksumError: 'close' },
];

/** Rings from far below the config minimum (4096) up to its default: small rings exercise the oversize path. */
const RING_SIZES = [64, 100, 256, 1024, 4096, 16_384, 65_536, 262_144];

function makeCuts(r: Rand, length: number, frames: readonly FrameInfo[]): number[] {
  return r.weighted<() => number[]>([
    [2, () => [Math.max(1, length)]],
    [1, () => [length <= 20_000 ? r.int(1, 7) : r.int(64, 512)]],
    [4, () => Array.from({ length: r.int(1, 12) }, () => r.weighted([[3, r.int(1, 16)], [3, r.int(17, 1500)], [1, r.int(1500, 70_000)]]))],
    [
      2,
      () => {
        // Cut just around frame boundaries, where the decoder changes state.
        const points = frames.map((f) => f.offset + r.int(-2, 26)).filter((p) => p > 0 && p < length);
        points.sort((a, b) => a - b);
        const sizes: number[] = [];
        let last = 0;
        for (const p of points) {
          if (p <= last) continue;
          sizes.push(p - last);
          last = p;
        }
        sizes.push(Math.max(1, length - last));
        return sizes;
      },
    ],
  ])();
}

export function makeCase(runSeed: number, index: number): FuzzCase {
  const r = new Rand(inputSeed(runSeed, index));
  const limits = r.weighted(LIMIT_SETS);
  const stream = generateStream(r, limits);
  const { bytes, applied } = mutate(r, stream.bytes, stream.frames, limits);
  return {
    seed: r.u32(),
    bytes,
    ringBytes: r.chance(0.2) ? r.int(64, 70_000) : r.pick(RING_SIZES),
    limits,
    policy: r.pick(POLICIES),
    mode: r.chance(0.5) ? 'readBuffer' : 'write',
    cuts: makeCuts(r, bytes.length, stream.frames),
    holdRate: r.weighted([
      [5, 0],
      [2, 0.05],
      [2, 0.3],
      [1, 1],
    ]),
    mutations: applied,
  };
}

/** The case without its bytes, for a JSON file next to them. */
export function describeCase(c: FuzzCase): Omit<FuzzCase, 'bytes'> & { length: number } {
  const { bytes, ...rest } = c;
  return { ...rest, length: bytes.length };
}
