/**
 * CRC-32 by payload size: where does zlib.crc32 (native, but it needs a
 * view, so one subarray per call) overtake the JS slice-by-16 loop over a
 * range (no allocation)? crc-32's CRC32.buf, the usual npm choice, for
 * reference. Compared with CRC32_NATIVE_CROSSOVER in src/wire/crc32.ts.
 *
 * Inputs cycle through a 256 KiB random buffer (cache-resident, as a
 * payload just read into the ring is) at offsets of mixed alignment.
 * Each implementation has its own loop so no call site is shared.
 */
import { randomFillSync } from 'node:crypto';
import zlib from 'node:zlib';
import CRC32 from 'crc-32';
import { CRC32_NATIVE_CROSSOVER, crc32Js } from '../src/wire/crc32.js';
import { performance } from './lib/gc.js';
import { fixed, median, percent, spread } from './lib/stats.js';
import { BenchFailure, type SuiteOptions, type SuiteReport } from './lib/suite.js';
import { markdownTable } from './lib/table.js';

const SIZES = [16, 32, 64, 128, 192, 256, 320, 384, 416, 448, 512, 768, 1024, 4096, 16384];
const BUFFER_BYTES = 256 * 1024;
const FULL = { repetitions: 7, sampleMs: 40 };
const QUICK = { repetitions: 1, sampleMs: 2 };

type Loop = (buf: Buffer, offsets: Int32Array, n: number, iterations: number) => number;

/** The XOR of every result, so no call is dead code; equal across implementations. */
const loopJs: Loop = (buf, offsets, n, iterations) => {
  let acc = 0;
  for (let i = 0, k = 0; i < iterations; i++) {
    const o = offsets[k];
    acc ^= crc32Js(buf, o, o + n);
    if (++k === offsets.length) k = 0;
  }
  return acc >>> 0;
};

const loopZlib: Loop = (buf, offsets, n, iterations) => {
  let acc = 0;
  for (let i = 0, k = 0; i < iterations; i++) {
    const o = offsets[k];
    acc ^= zlib.crc32(buf.subarray(o, o + n));
    if (++k === offsets.length) k = 0;
  }
  return acc >>> 0;
};

const loopCrc32Package: Loop = (buf, offsets, n, iterations) => {
  let acc = 0;
  for (let i = 0, k = 0; i < iterations; i++) {
    const o = offsets[k];
    acc ^= CRC32.buf(buf.subarray(o, o + n));
    if (++k === offsets.length) k = 0;
  }
  return acc >>> 0;
};

const IMPLEMENTATIONS: ReadonlyArray<{ name: string; loop: Loop }> = [
  { name: 'crc32Js (range)', loop: loopJs },
  { name: 'zlib.crc32 (subarray)', loop: loopZlib },
  { name: 'crc-32 CRC32.buf (subarray)', loop: loopCrc32Package },
];

/** Start offsets spaced by n + 13 bytes: every alignment mod 16 comes up. */
function offsetsFor(n: number): Int32Array {
  const list: number[] = [];
  for (let o = 0; o + n <= BUFFER_BYTES; o += n + 13) list.push(o);
  return Int32Array.from(list);
}

/** Iterations that take about `ms` (doubling from 1; doubles as warm-up). */
function calibrate(loop: Loop, buf: Buffer, offsets: Int32Array, n: number, ms: number): number {
  for (let iterations = 1; ; iterations *= 2) {
    const t0 = performance.now();
    loop(buf, offsets, n, iterations);
    const elapsed = performance.now() - t0;
    if (elapsed >= ms / 4) return Math.max(1, Math.round((iterations * ms) / Math.max(elapsed, 1e-3)));
  }
}

interface SizeResult {
  readonly size: number;
  /** Median ns per call, by implementation name. */
  readonly nsPerOp: Record<string, number>;
  readonly gbps: Record<string, number>;
  readonly spread: Record<string, number>;
  /** In how many repetitions zlib beat crc32Js. */
  readonly zlibWins: number;
}

function measureSize(n: number, buf: Buffer, plan: typeof FULL): SizeResult {
  const offsets = offsetsFor(n);
  const expected = loopJs(buf, offsets, n, offsets.length);
  const plans = IMPLEMENTATIONS.map((impl) => {
    const got = impl.loop(buf, offsets, n, offsets.length);
    if (got !== expected) throw new BenchFailure(`${impl.name} disagrees with crc32Js at ${n} bytes (${got} vs ${expected})`);
    return { ...impl, iterations: calibrate(impl.loop, buf, offsets, n, plan.sampleMs), ns: [] as number[] };
  });
  let zlibWins = 0;
  for (let rep = 0; rep < plan.repetitions; rep++) {
    for (let k = 0; k < plans.length; k++) {
      const p = plans[(rep + k) % plans.length];
      const t0 = performance.now();
      p.loop(buf, offsets, n, p.iterations);
      p.ns.push(((performance.now() - t0) * 1e6) / p.iterations);
    }
    if (plans[1].ns[rep] < plans[0].ns[rep]) zlibWins++;
  }
  const by = (f: (ns: number[]) => number): Record<string, number> => Object.fromEntries(plans.map((p) => [p.name, f(p.ns)]));
  return {
    size: n,
    nsPerOp: by((ns) => median(ns)),
    gbps: by((ns) => n / median(ns)),
    spread: by((ns) => spread(ns)),
    zlibWins,
  };
}

/** Smallest size from which zlib's median beats crc32Js's at that size and every larger one; null if never. */
function crossover(results: readonly SizeResult[]): number | null {
  const [js, native] = [IMPLEMENTATIONS[0].name, IMPLEMENTATIONS[1].name];
  let from: number | null = null;
  for (let i = results.length - 1; i >= 0; i--) {
    if (results[i].nsPerOp[native] < results[i].nsPerOp[js]) from = results[i].size;
    else break;
  }
  return from;
}

export async function run(options: SuiteOptions): Promise<SuiteReport> {
  const plan = options.quick ? QUICK : FULL;
  const buf = randomFillSync(Buffer.allocUnsafeSlow(BUFFER_BYTES));
  const results: SizeResult[] = [];
  for (const n of SIZES) {
    options.log(`crc ${n} B`);
    results.push(measureSize(n, buf, plan));
  }
  const measured = crossover(results);
  const names = IMPLEMENTATIONS.map((i) => i.name);
  const table = markdownTable(
    ['bytes', ...names.map((n) => `${n} ns`), ...names.map((n) => `${n.split(' ')[0]} GB/s`), 'JS/zlib time', 'zlib wins'],
    results.map((r) => [
      String(r.size),
      ...names.map((n) => `${fixed(r.nsPerOp[n], 1)} ${percent(r.spread[n])}`),
      ...names.map((n) => fixed(r.gbps[n], 2)),
      fixed(r.nsPerOp[names[0]] / r.nsPerOp[names[1]], 2),
      `${r.zlibWins}/${plan.repetitions}`,
    ]),
  );
  const verdict =
    measured === null
      ? `zlib.crc32 never overtook crc32Js over ${SIZES[0]}..${SIZES[SIZES.length - 1]} B.`
      : `Measured crossover: zlib.crc32 wins from **${measured} B** (every size at or above it, by median); ` +
        `CRC32_NATIVE_CROSSOVER in src/wire/crc32.ts is **${CRC32_NATIVE_CROSSOVER} B** ` +
        (measured === CRC32_NATIVE_CROSSOVER ? '(agrees).' : '(differs: see the table before changing it; sizes are a grid).');
  return {
    markdown: [
      `### crc: ${plan.repetitions} repetitions of ~${plan.sampleMs} ms per cell (medians)${options.quick ? ' (quick: figures meaningless)' : ''}`,
      '',
      table,
      '',
      verdict,
      '"zlib wins" = repetitions in which zlib.crc32 was faster than crc32Js; ± = half the min-max range over the median.',
    ].join('\n'),
    json: { repetitions: plan.repetitions, sampleMs: plan.sampleMs, results, crossover: { measured, constant: CRC32_NATIVE_CROSSOVER } },
  };
}
