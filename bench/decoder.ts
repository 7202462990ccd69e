/**
 * Decoder throughput, in process: pkt-ingest's FrameReader against two
 * baselines (copying concat, `bl`), on one pre-encoded stream per payload
 * size fed in 64 KiB chunks. No sockets: this is the cost of turning bytes
 * into validated packets, CRC included.
 *
 * Per workload: a self-check (a corrupted frame must be caught by every
 * contender), warm-up runs, then repetitions interleaved across contenders
 * (order rotated) with gc() before each. Reported: medians of Mpkt/s, GB/s
 * of wire bytes, the ratio to the copying baseline, and young-generation
 * GCs per GB during the measured runs. A wrong packet count is a failure.
 */
import { BASELINE_NAME, PKT_INGEST_NAME, contenders, type Contender, type DecodeResult } from './decoder-contenders.js';
import { GcCounter, collectGarbage, performance } from './lib/gc.js';
import { fixed, median, percent, spread, sum } from './lib/stats.js';
import { buildStream, chunk } from './lib/stream.js';
import { BenchFailure, type SuiteOptions, type SuiteReport } from './lib/suite.js';
import { markdownTable } from './lib/table.js';

const CHUNK_BYTES = 64 * 1024;
const SOURCE_ID = 'sensor-7'; // 8 bytes, the same on every frame
const DEST_ID = 'ingest-a';

/** One 64 MiB stream per workload; a measured run feeds it `passes` times to one decoder. */
const STREAM_BYTES = 64 << 20;

interface Workload {
  readonly name: string;
  readonly payloadBytes: number;
  /** Sized so pkt-ingest runs for about 0.2 s or more (the baselines 0.5-2 s). */
  readonly passes: number;
}

const WORKLOADS: readonly Workload[] = [
  { name: '64 B', payloadBytes: 64, passes: 2 },
  { name: '1 KiB', payloadBytes: 1024, passes: 4 },
  { name: '16 KiB', payloadBytes: 16384, passes: 8 },
];

const FULL = { repetitions: 7, warmups: 2, streamBytes: STREAM_BYTES };
const QUICK = { repetitions: 1, warmups: 1, streamBytes: 512 << 10 };

interface RunSample {
  readonly seconds: number;
  readonly minorGcs: number;
  /** Total pause of those minor GCs. */
  readonly minorGcMs: number;
}

interface ContenderResult {
  readonly workload: string;
  readonly contender: string;
  /** Per measured run: the stream's frames and bytes times the passes. */
  readonly frames: number;
  readonly bytes: number;
  readonly passes: number;
  readonly runs: readonly RunSample[];
  readonly mpps: number;
  readonly gbps: number;
  readonly ratio: number;
  readonly minorGcsPerGb: number;
  readonly minorGcsTotal: number;
  /** Median pause of those GCs, ms per GB. */
  readonly minorGcMsPerGb: number;
  readonly spread: number;
}

function feedAll(contender: Contender, chunks: readonly Buffer[], passes = 1): DecodeResult {
  const run = contender.start();
  for (let pass = 0; pass < passes; pass++) for (const c of chunks) run.feed(c);
  return run.finish();
}

function expect(contender: Contender, what: string, got: DecodeResult, packets: number, errors: number): void {
  if (got.packets !== packets || got.errors !== errors || got.leftoverBytes !== 0) {
    throw new BenchFailure(
      `${contender.name}, ${what}: delivered ${got.packets} packets with ${got.errors} errors and ${got.leftoverBytes} ` +
        `bytes left over; expected ${packets} packets, ${errors} errors, 0 bytes`,
    );
  }
}

/** Every contender must drop a frame whose payload was corrupted, and only that one. */
function selfCheck(workload: Workload, all: readonly Contender[]): void {
  const stream = buildStream({ payloadBytes: workload.payloadBytes, targetBytes: 40 * (workload.payloadBytes + 64), sourceId: SOURCE_ID, destId: DEST_ID });
  const bad = Buffer.from(stream.bytes);
  bad[stream.payloadOffset(stream.frames >>> 1) + (workload.payloadBytes >>> 1)] ^= 0x40;
  for (const contender of all) {
    expect(contender, 'intact self-check stream', feedAll(contender, chunk(stream.bytes, 1000)), stream.frames, 0);
    expect(contender, 'stream with one corrupted payload', feedAll(contender, chunk(bad, 1000)), stream.frames - 1, 1);
  }
}

async function measure(contender: Contender, frames: number, chunks: readonly Buffer[], passes: number, gcs: GcCounter): Promise<RunSample> {
  collectGarbage();
  const run = contender.start();
  const t0 = performance.now();
  for (let pass = 0; pass < passes; pass++) for (let i = 0; i < chunks.length; i++) run.feed(chunks[i]);
  const result = run.finish();
  const t1 = performance.now();
  expect(contender, 'measured run', result, frames * passes, 0);
  const minor = await gcs.countMinor(t0, t1);
  return { seconds: (t1 - t0) / 1000, minorGcs: minor.count, minorGcMs: minor.ms };
}

async function runWorkload(workload: Workload, options: SuiteOptions, gcs: GcCounter): Promise<ContenderResult[]> {
  const plan = options.quick ? QUICK : FULL;
  const all = contenders();
  selfCheck(workload, all);
  const passes = options.quick ? 1 : workload.passes;
  const stream = buildStream({ payloadBytes: workload.payloadBytes, targetBytes: plan.streamBytes, sourceId: SOURCE_ID, destId: DEST_ID });
  const chunks = chunk(stream.bytes, CHUNK_BYTES);
  options.log(`decoder ${workload.name}: ${stream.frames} frames of ${stream.frameBytes} B (${(stream.bytes.length / 2 ** 20).toFixed(1)} MiB), ${passes} pass(es) per run`);

  for (const contender of all) for (let i = 0; i < plan.warmups; i++) expect(contender, 'warm-up', feedAll(contender, chunks), stream.frames, 0);

  const samples = new Map<string, RunSample[]>(all.map((c) => [c.name, []]));
  for (let rep = 0; rep < plan.repetitions; rep++) {
    for (let k = 0; k < all.length; k++) {
      const contender = all[(rep + k) % all.length]; // rotate the order: no contender always runs first
      (samples.get(contender.name) as RunSample[]).push(await measure(contender, stream.frames, chunks, passes, gcs));
    }
  }

  const frames = stream.frames * passes;
  const bytes = stream.bytes.length * passes;
  const gb = bytes / 1e9;
  const rows = all.map((c) => {
    const runs = samples.get(c.name) as RunSample[];
    const seconds = median(runs.map((r) => r.seconds));
    return {
      workload: workload.name,
      contender: c.name,
      frames,
      bytes,
      passes,
      runs,
      mpps: frames / seconds / 1e6,
      gbps: gb / seconds,
      ratio: 0,
      minorGcsPerGb: median(runs.map((r) => r.minorGcs / gb)),
      minorGcsTotal: sum(runs.map((r) => r.minorGcs)),
      minorGcMsPerGb: median(runs.map((r) => r.minorGcMs / gb)),
      spread: spread(runs.map((r) => r.seconds)),
    };
  });
  const base = rows.find((r) => r.contender === BASELINE_NAME) as ContenderResult;
  return rows.map((r) => ({ ...r, ratio: r.mpps / base.mpps }));
}

/** The project's targets for pkt-ingest (synchronous no-op consumer, CRC verified). */
const GOALS = { mppsAt64: 6, ratioAt64: 4, gbpsAt16k: 4, minorGcsPerGb: 0 };

interface GoalCheck {
  readonly goal: string;
  readonly measured: string;
  readonly met: boolean;
}

function checkGoals(results: readonly ContenderResult[]): GoalCheck[] {
  const ours = results.filter((r) => r.contender === PKT_INGEST_NAME);
  const at = (workload: string): ContenderResult | undefined => ours.find((r) => r.workload === workload);
  const checks: GoalCheck[] = [];
  const small = at('64 B');
  if (small) {
    checks.push({ goal: `64 B: >= ${GOALS.mppsAt64} Mpkt/s`, measured: `${fixed(small.mpps)} Mpkt/s`, met: small.mpps >= GOALS.mppsAt64 });
    checks.push({ goal: `64 B: >= ${GOALS.ratioAt64}x copying`, measured: `${fixed(small.ratio)}x`, met: small.ratio >= GOALS.ratioAt64 });
  }
  const large = at('16 KiB');
  if (large) checks.push({ goal: `16 KiB: >= ${GOALS.gbpsAt16k} GB/s`, measured: `${fixed(large.gbps)} GB/s`, met: large.gbps >= GOALS.gbpsAt16k });
  for (const r of ours) {
    checks.push({
      goal: `${r.workload}: ${GOALS.minorGcsPerGb} young GCs/GB`,
      measured: `${fixed(r.minorGcsPerGb, 1)}/GB (${r.minorGcsTotal} in all runs)`,
      met: r.minorGcsPerGb <= GOALS.minorGcsPerGb,
    });
  }
  return checks;
}

function render(results: readonly ContenderResult[], options: SuiteOptions): string {
  const plan = options.quick ? QUICK : FULL;
  const table = markdownTable(
    ['payload', 'contender', 'Mpkt/s', 'GB/s', 'vs copying', 'young GCs/GB', 'young GCs (all runs)', 'young GC ms/GB', 'run spread'],
    results.map((r) => [
      r.workload,
      r.contender,
      fixed(r.mpps, 2),
      fixed(r.gbps, 2),
      `${fixed(r.ratio, 2)}x`,
      fixed(r.minorGcsPerGb, 1),
      String(r.minorGcsTotal),
      fixed(r.minorGcMsPerGb, 1),
      percent(r.spread),
    ]),
    ['left', 'left'],
  );
  const perRun = [...new Set(results.map((r) => `${r.workload}: ${r.passes} x ${r.frames / r.passes} = ${r.frames} frames, ${(r.bytes / 2 ** 20).toFixed(1)} MiB`))];
  return [
    `### decoder: ${plan.repetitions} measured runs per cell (medians), ${plan.warmups} warm-up, ${CHUNK_BYTES / 1024} KiB chunks${options.quick ? ' (quick: smoke test, figures meaningless)' : ''}`,
    '',
    `Per measured run, passes over one ${(plan.streamBytes / 2 ** 20).toFixed(1)} MiB stream: ${perRun.join('; ')}. ` +
      `Ids "${SOURCE_ID}" -> "${DEST_ID}" on every frame. GB = 1e9 wire bytes.`,
    '',
    table,
    '',
    'pkt-ingest copies every chunk into its ring (the simulated kernel read); the baselines get the chunks for free.',
    'young GCs = scavenges that started inside measured runs (ms/GB: their pauses); "run spread" = half the min-max range of run times over the median.',
    '',
    `Goals (pkt-ingest): ${checkGoals(results)
      .map((c) => `${c.goal}: ${c.measured}, ${c.met ? 'met' : 'NOT met'}`)
      .join('; ')}.`,
  ].join('\n');
}

export async function run(options: SuiteOptions): Promise<SuiteReport> {
  const gcs = new GcCounter();
  const results: ContenderResult[] = [];
  try {
    for (const workload of WORKLOADS) results.push(...(await runWorkload(workload, options, gcs)));
  } finally {
    gcs.close();
  }
  const plan = options.quick ? QUICK : FULL;
  return {
    markdown: render(results, options),
    json: { chunkBytes: CHUNK_BYTES, repetitions: plan.repetitions, warmups: plan.warmups, quick: options.quick, results, goals: checkGoals(results) },
  };
}
