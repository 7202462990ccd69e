/**
 * Runs the fuzz loop in a worker thread and watches it from here.
 *
 *   main thread                         worker (fuzz/lib/worker.ts)
 *   watchdog: beat counter moving? <--- heartbeat (SharedArrayBuffer)
 *   findings, progress, report     <--- postMessage
 *
 * If the beat stops for `hangMs` (an input stuck, even in a synchronous
 * loop) or the worker dies (an exception escaped, e.g. from a socket
 * callback), the worker is ended and the input it was on is rebuilt here
 * from the run seed and its index, saved, and reported.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { FRAME_ERROR_REASONS, type FrameErrorReason } from '../../src/wire/reasons.js';
import { makeCase } from './case.js';
import { LOOP_DEFAULTS, Phase, type FuzzFinding, type LoopOptions, type LoopProgress, type LoopReport } from './loop.js';
import type { FindingKind } from './reader-driver.js';
import { saveCase } from './shrink.js';
import type { WorkerMessage } from './worker.js';

export interface FuzzOptions extends Partial<Omit<LoopOptions, 'seed' | 'seconds'>> {
  seed: number;
  seconds: number;
  /** No beat for this long is a hang (the shrink phase gets shrinkMs more). */
  hangMs?: number;
  onFinding?: (finding: FuzzFinding) => void;
  onProgress?: (progress: LoopProgress) => void;
}

export interface FuzzReport extends LoopReport {
  seed: number;
}

/**
 * The worker is TypeScript: it registers tsx's loader first (Node 20 does
 * not pass `--import` hooks to workers), from the copy this file resolves:
 * the ESM build next to the CommonJS one `require.resolve` finds.
 */
function workerSource(): string {
  const cjs = createRequire(import.meta.url).resolve('tsx/esm/api');
  const esm = cjs.replace(/\.cjs$/, '.mjs');
  const api = fs.existsSync(esm) ? pathToFileURL(esm).href : 'tsx/esm/api';
  const entry = new URL('./worker.ts', import.meta.url).href;
  return `import(${JSON.stringify(api)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
}

function emptyReport(progress: LoopProgress, seconds: number): LoopReport {
  const errors = Object.fromEntries(FRAME_ERROR_REASONS.map((r) => [r, 0])) as Record<FrameErrorReason, number>;
  return {
    ...progress,
    errors,
    liveRestarts: 0,
    seconds,
    heap: { samples: 0, baselineBytes: 0, finalBytes: 0, growthBytes: 0, limitBytes: 0 },
    findings: [],
  };
}

export function runFuzz(opts: FuzzOptions): Promise<FuzzReport> {
  const options: LoopOptions = { ...LOOP_DEFAULTS, seed: opts.seed, seconds: opts.seconds };
  for (const key of Object.keys(LOOP_DEFAULTS) as Array<keyof typeof LOOP_DEFAULTS>) {
    if (opts[key] !== undefined) Object.assign(options, { [key]: opts[key] });
  }
  const hangMs = opts.hangMs ?? 15_000;
  const heartbeat = new SharedArrayBuffer(3 * Int32Array.BYTES_PER_ELEMENT);
  const beat = new Int32Array(heartbeat);
  const started = performance.now();
  const worker = new Worker(workerSource(), { eval: true, workerData: { options, heartbeat } });
  const findings: FuzzFinding[] = [];
  let progress: LoopProgress = { inputs: 0, liveInputs: 0, frames: 0, bytes: 0 };

  return new Promise((resolve) => {
    let done = false;
    let lastBeat = -1;
    let lastChange = performance.now();

    const finish = (report: LoopReport): void => {
      if (done) return;
      done = true;
      clearInterval(watchdog);
      void worker.terminate(); // done with it, whatever it still holds open
      resolve({ ...report, seed: opts.seed });
    };

    /** The worker is gone or stuck: rebuild the input it was on and report it. */
    const abort = (kind: FindingKind, message: string): void => {
      if (done) return;
      const index = Atomics.load(beat, 0);
      const target = Atomics.load(beat, 1) === Phase.Live ? 'live' : 'reader';
      const c = makeCase(opts.seed, index);
      const finding = { kind, message };
      const f: FuzzFinding = {
        ...finding,
        runSeed: opts.seed,
        index,
        target,
        count: 1,
        originalBytes: c.bytes.length,
        minimalBytes: c.bytes.length,
        saved: saveCase(c, { runSeed: opts.seed, index, finding, target }),
        mutations: c.mutations,
      };
      findings.push(f);
      opts.onFinding?.(f);
      const seconds = (performance.now() - started) / 1000;
      finish({ ...emptyReport({ ...progress, inputs: Math.max(progress.inputs, index) }, seconds), findings });
    };

    const watchdog = setInterval(() => {
      const n = Atomics.load(beat, 2);
      const now = performance.now();
      if (n !== lastBeat) {
        lastBeat = n;
        lastChange = now;
        return;
      }
      const limit = Atomics.load(beat, 1) === Phase.Shrink ? hangMs + options.shrinkMs : hangMs;
      if (now - lastChange > limit) abort('hang', `no progress for ${Math.round(now - lastChange)} ms on this input (watchdog)`);
    }, 250);

    worker.on('message', (m: WorkerMessage) => {
      if (m.type === 'finding') {
        findings.push(m.finding);
        opts.onFinding?.(m.finding);
      } else if (m.type === 'progress') {
        progress = m.progress;
        opts.onProgress?.(m.progress);
      } else {
        finish(m.report); // its findings are those posted, with final counts, plus the heap verdict
      }
    });
    worker.on('error', (err) => abort('exception', `worker died: ${err.stack ?? err.message}`));
    worker.on('exit', (code) => abort('exception', `worker exited (${code}) before reporting`));
  });
}
