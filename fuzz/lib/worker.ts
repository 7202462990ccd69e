/**
 * The fuzz loop's thread. It publishes every input it starts in a shared
 * heartbeat (index, phase, a beat counter) that the main thread watches
 * without this thread's help: an input stuck in a synchronous loop is
 * still caught, and reproduced from the run seed and its index.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { fuzzLoop, type FuzzFinding, type LoopOptions, type LoopProgress, type LoopReport } from './loop.js';

export type WorkerMessage =
  | { type: 'finding'; finding: FuzzFinding }
  | { type: 'progress'; progress: LoopProgress }
  | { type: 'done'; report: LoopReport };

const { options, heartbeat } = workerData as { options: LoopOptions; heartbeat: SharedArrayBuffer };
const beat = new Int32Array(heartbeat);
const port = parentPort;
if (port === null) throw new Error('fuzz/lib/worker.ts runs as a worker thread');
const post = (m: WorkerMessage): void => port.postMessage(m);

const report = await fuzzLoop(options, {
  beat(index, phase) {
    Atomics.store(beat, 0, index);
    Atomics.store(beat, 1, phase);
    Atomics.add(beat, 2, 1);
  },
  finding: (finding) => post({ type: 'finding', finding }),
  progress: (progress) => post({ type: 'progress', progress }),
});
post({ type: 'done', report });
