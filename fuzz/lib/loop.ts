/**
 * The fuzz loop: input after input until the time is up, each through a
 * FrameReader in-process and every `liveEvery`-th also through a live
 * server on loopback. The first finding of each kind of failure is shrunk
 * and saved; repeats are only counted. The caller sees each input start
 * through `beat`, so that a watchdog can tell a hang from slow progress.
 */
import { performance } from 'node:perf_hooks';
import { FRAME_ERROR_REASONS, type FrameErrorReason } from '../../src/wire/reasons.js';
import { makeCase, type FuzzCase } from './case.js';
import { HeapWatch, type HeapReport } from './heap-watch.js';
import { LiveTarget, randomLiveSettings, type LiveSettings } from './live-driver.js';
import { inputSeed, Rand } from './rand.js';
import { runReaderCase, type CaseResult, type Finding } from './reader-driver.js';
import { saveCase, shrink, type SavedCase } from './shrink.js';

export interface LoopOptions {
  seed: number;
  seconds: number;
  /** Every N-th input also goes through a live server; 0: never. */
  liveEvery: number;
  /** Stop after this many distinct findings. */
  maxFindings: number;
  /** Time to spend shrinking one finding. */
  shrinkMs: number;
}

export const LOOP_DEFAULTS: Omit<LoopOptions, 'seed' | 'seconds'> = { liveEvery: 25, maxFindings: 5, shrinkMs: 10_000 };

/** What the loop is doing, for the watchdog (a shrink may take longer than one input). */
export const Phase = { Reader: 0, Live: 1, Shrink: 2 } as const;
export type Phase = (typeof Phase)[keyof typeof Phase];

export interface FuzzFinding extends Finding {
  runSeed: number;
  index: number;
  target: 'reader' | 'live';
  /** Inputs that failed the same way (the first one is the one saved). */
  count: number;
  originalBytes: number;
  minimalBytes: number;
  saved: SavedCase;
  mutations: string[];
}

export interface LoopProgress {
  inputs: number;
  liveInputs: number;
  frames: number;
  bytes: number;
}

export interface LoopReport extends LoopProgress {
  /** Frame errors reported, each agreeing with the model (in-process target). */
  errors: Record<FrameErrorReason, number>;
  liveRestarts: number;
  seconds: number;
  heap: HeapReport;
  findings: FuzzFinding[];
}

export interface LoopHooks {
  beat(index: number, phase: Phase): void;
  finding?(finding: FuzzFinding): void;
  /** About once a second. */
  progress?(progress: LoopProgress): void;
}

/** Inputs a live server serves before it is replaced by one with other settings. */
const LIVE_INPUTS_PER_SERVER = 40;
const LIVE_BUDGET_MS = 5000;
const HEAP_SAMPLE_MS = 250;
const PROGRESS_MS = 1000;

/** Failures that differ only in offsets, sizes and context are the same finding. */
const signature = (target: string, f: Finding): string =>
  `${target}:${f.kind}:${f.message.split(' (')[0].replace(/\d+/g, '#').slice(0, 100)}`;

export async function fuzzLoop(opts: LoopOptions, hooks: LoopHooks): Promise<LoopReport> {
  const started = performance.now();
  const deadline = started + opts.seconds * 1000;
  const heap = new HeapWatch();
  const errors = Object.fromEntries(FRAME_ERROR_REASONS.map((r) => [r, 0])) as Record<FrameErrorReason, number>;
  const progress: LoopProgress = { inputs: 0, liveInputs: 0, frames: 0, bytes: 0 };
  const findings = new Map<string, FuzzFinding>();
  const liveRand = new Rand(inputSeed(opts.seed, -1));
  let live: LiveTarget | null = null;
  let liveServed = 0;
  let liveRestarts = 0;
  let lastSample = -Infinity;
  let lastProgress = started;

  const found = async (c: FuzzCase, index: number, target: 'reader' | 'live', finding: Finding, settings?: LiveSettings): Promise<void> => {
    const seen = findings.get(signature(target, finding));
    if (seen !== undefined) {
      seen.count++;
      return;
    }
    hooks.beat(index, Phase.Shrink);
    const shrinkable = target === 'reader' && finding.kind !== 'hang';
    const minimal = shrinkable ? await shrink(c, finding.kind, (x) => runReaderCase(x), opts.shrinkMs) : c;
    // Report what the minimal input does: its offsets differ from the original's.
    const final = shrinkable ? ((await runReaderCase(minimal)).finding ?? finding) : finding;
    // Shrunk, two findings may turn out to be one.
    const same = findings.get(signature(target, final));
    if (same !== undefined) {
      same.count++;
      findings.set(signature(target, finding), same);
      return;
    }
    const f: FuzzFinding = {
      ...final,
      runSeed: opts.seed,
      index,
      target,
      count: 1,
      originalBytes: c.bytes.length,
      minimalBytes: minimal.bytes.length,
      saved: saveCase(minimal, { runSeed: opts.seed, index, finding: final, target, server: settings }),
      mutations: c.mutations,
    };
    findings.set(signature(target, finding), f);
    findings.set(signature(target, final), f);
    hooks.finding?.(f);
  };

  const runLive = async (c: FuzzCase, index: number): Promise<CaseResult> => {
    hooks.beat(index, Phase.Live);
    if (live === null || liveServed >= LIVE_INPUTS_PER_SERVER) {
      await live?.stop();
      live = await LiveTarget.start(randomLiveSettings(liveRand));
      liveRestarts++;
      liveServed = 0;
    }
    liveServed++;
    progress.liveInputs++;
    const r = await live.run(c, LIVE_BUDGET_MS);
    if (r.finding !== null) {
      await found(c, index, 'live', r.finding, live.settings);
      liveServed = LIVE_INPUTS_PER_SERVER; // a server in a bad state would repeat it: start afresh
    }
    return r;
  };

  try {
    for (let index = 0; performance.now() < deadline && new Set(findings.values()).size < opts.maxFindings; index++) {
      hooks.beat(index, Phase.Reader);
      const c = makeCase(opts.seed, index);
      progress.inputs++;
      progress.bytes += c.bytes.length;
      const r = await runReaderCase(c);
      progress.frames += r.frames;
      if (r.finding === null) for (const e of r.observed.errors) errors[e.reason]++;
      else await found(c, index, 'reader', r.finding);
      if (opts.liveEvery > 0 && index % opts.liveEvery === 0) progress.frames += (await runLive(c, index)).frames;

      const now = performance.now();
      if (now - lastSample >= HEAP_SAMPLE_MS) {
        heap.sample();
        lastSample = performance.now();
      }
      if (now - lastProgress >= PROGRESS_MS) {
        lastProgress = now;
        hooks.progress?.({ ...progress });
      }
    }
  } finally {
    await (live as LiveTarget | null)?.stop();
  }
  heap.sample();
  const heapReport = heap.report();
  const all = [...new Set(findings.values())];
  if (heapReport.growthBytes > heapReport.limitBytes) {
    const mib = (n: number): string => `${(n / 1048576).toFixed(1)} MiB`;
    all.push({
      kind: 'heap',
      message: `heap grew ${mib(heapReport.growthBytes)} (limit ${mib(heapReport.limitBytes)}) from ${mib(heapReport.baselineBytes)} to ${mib(heapReport.finalBytes)}`,
      runSeed: opts.seed,
      index: progress.inputs,
      target: 'reader',
      count: 1,
      originalBytes: 0,
      minimalBytes: 0,
      saved: { bin: '', json: '' },
      mutations: [],
    });
  }
  return { ...progress, errors, liveRestarts, seconds: (performance.now() - started) / 1000, heap: heapReport, findings: all };
}
