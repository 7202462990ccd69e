/**
 * The `server` suite: pkt-ingest end to end over TCP against baseline
 * servers and raw byte sinks, every one its own process, all fed the same
 * pre-generated streams by one producer process.
 *
 *   suite (this process, idle while measuring)
 *     |-- producer child (bench/server/producer-child.ts, whole suite): load/lib runLoad
 *     '-- server child, a fresh one per run: pkt-ingest (src/cli.ts serve) or bench/servers/*
 *
 * Per workload (payload size x connections): repetitions of every compared
 * contender, order rotated; medians. Then the memory test: pkt-ingest with
 * a slow handler, once per workload, and once more with a longer stream.
 * Any count that differs from what was sent fails the suite (BenchFailure).
 *
 *   runServerBench(['--json' | '--quick' | '--repetitions', 'N'])  -> exit code
 *   run(options)                                                   -> SuiteReport (bench/run.ts)
 */
import { parseArgs } from 'node:util';
import { describeEnvironment, type BenchEnvironment } from '../lib/env.js';
import { BenchFailure, type SuiteOptions, type SuiteReport } from '../lib/suite.js';
import { ProducerChild } from './children.js';
import { CONTENDERS, contender, type ContenderKey } from './contenders.js';
import { MAX_ATTEMPTS, measureRun, type RunSample, type Workload } from './measure.js';
import { render } from './render.js';
import { checkGoals, headroom, summarize, withRatios, type Cell, type Headroom, type MemoryResult } from './results.js';

interface Plan {
  readonly repetitions: number;
  readonly connections: readonly number[];
  /** Measured frames per payload size: 1-2 s of pkt-ingest (the baselines take 2-4x longer). */
  readonly packets: Readonly<Record<number, number>>;
  /** The memory test's longer stream, as a multiple; 0: skipped. */
  readonly longerScale: number;
  /** Which workload the longer memory run repeats. */
  readonly longerWorkload: { readonly payloadBytes: number; readonly connections: number };
  /** Runs per sample at most, while other processes disturb them (see measure.ts). */
  readonly maxAttempts: number;
}

const PAYLOADS = [64, 1024, 16384] as const;

const FULL: Plan = {
  repetitions: 5,
  connections: [1, 8],
  packets: { 64: 4_000_000, 1024: 1_500_000, 16384: 150_000 },
  longerScale: 4,
  longerWorkload: { payloadBytes: 64, connections: 8 },
  maxAttempts: MAX_ATTEMPTS,
};

/** A CI smoke test: tiny streams, one run, one connection count; checks every count. */
const QUICK: Plan = {
  repetitions: 1,
  connections: [1],
  packets: { 64: 20_000, 1024: 5_000, 16384: 500 },
  longerScale: 0,
  longerWorkload: FULL.longerWorkload,
  maxAttempts: 1,
};

const WARMUP_FRACTION = 0.2;

function workload(payloadBytes: number, connections: number, packets: number): Workload {
  return {
    name: `${payloadBytes >= 1024 ? `${payloadBytes / 1024} KiB` : `${payloadBytes} B`} x${connections}`,
    payloadBytes,
    connections,
    packets,
    warmupPackets: Math.max(connections, Math.floor(packets * WARMUP_FRACTION)),
  };
}

function workloads(plan: Plan): Workload[] {
  return PAYLOADS.flatMap((p) => plan.connections.map((n) => workload(p, n, plan.packets[p])));
}

async function measureWorkload(w: Workload, plan: Plan, producer: ProducerChild, log: SuiteOptions['log']): Promise<Cell[]> {
  const compared = CONTENDERS.filter((c) => c.compared);
  const samples = new Map<ContenderKey, RunSample[]>(compared.map((c) => [c.key, []]));
  for (let rep = 0; rep < plan.repetitions; rep++) {
    for (let k = 0; k < compared.length; k++) {
      const c = compared[(rep + k) % compared.length]; // rotated: no contender always runs first
      const sample = await measureRun(c, w, producer, log, plan.maxAttempts);
      (samples.get(c.key) as RunSample[]).push(sample);
      log(
        `server ${w.name} run ${rep + 1}/${plan.repetitions}: ${c.key} ${(w.packets / sample.seconds / 1e6).toFixed(3)} Mpkt/s ` +
          `(other load ${sample.foreignCores.toFixed(2)} cores)`,
      );
    }
  }
  return withRatios(compared.map((c) => summarize(w, c.key, samples.get(c.key) as RunSample[])));
}

async function memoryTest(all: readonly Workload[], plan: Plan, producer: ProducerChild, log: SuiteOptions['log']): Promise<MemoryResult> {
  const slow = contender('slow');
  const cells: Cell[] = [];
  for (const w of all) {
    cells.push(summarize(w, 'slow', [await measureRun(slow, w, producer, log, plan.maxAttempts)]));
    log(`server memory ${w.name}: peak RSS ${(cells[cells.length - 1].peakRssMiB).toFixed(0)} MiB`);
  }
  const { payloadBytes, connections } = plan.longerWorkload;
  const base = cells.find((c) => c.payloadBytes === payloadBytes && c.connections === connections);
  if (plan.longerScale === 0 || base === undefined) return { cells, longer: null };
  const long = workload(payloadBytes, connections, plan.packets[payloadBytes] * plan.longerScale);
  const longCell = summarize(long, 'slow', [await measureRun(slow, long, producer, log, plan.maxAttempts)]);
  log(`server memory ${long.name}, ${plan.longerScale}x stream: peak RSS ${longCell.peakRssMiB.toFixed(0)} MiB`);
  return { cells, longer: { base, long: longCell, scale: plan.longerScale } };
}

export interface ServerSuiteOptions extends SuiteOptions {
  /** Overrides the plan's repetitions (at least 1). */
  readonly repetitions?: number;
}

/** The suite, for bench/run.ts. Throws BenchFailure when a contender miscounts. */
export async function run(options: ServerSuiteOptions): Promise<SuiteReport> {
  const base = options.quick ? QUICK : FULL;
  const plan: Plan = { ...base, repetitions: options.repetitions ?? base.repetitions };
  const all = workloads(plan);
  const producer = new ProducerChild();
  const cells: Cell[] = [];
  const headrooms: Headroom[] = [];
  let memory: MemoryResult;
  try {
    for (const w of all) {
      options.log(`server ${w.name}: ${w.packets} frames (+${w.warmupPackets} warm-up) per run`);
      const workloadCells = await measureWorkload(w, plan, producer, options.log);
      cells.push(...workloadCells);
      const h = headroom(workloadCells);
      if (h !== null) headrooms.push(h);
    }
    memory = await memoryTest(all, plan, producer, options.log);
  } finally {
    await producer.stop();
  }
  const goals = checkGoals(cells, memory);
  return {
    markdown: render({ quick: options.quick, repetitions: plan.repetitions, cells, headrooms, memory, goals }),
    json: { quick: options.quick, plan, cells, headrooms, memory, goals },
  };
}

const USAGE = `usage: runServerBench([--json] [--quick] [--repetitions N])

  --json            one JSON object on stdout instead of markdown
  --quick           CI smoke test: tiny streams, 1 run, 1 connection; fails on any miscount
  --repetitions N   measured runs per cell (default ${FULL.repetitions})`;

function environmentLine(env: BenchEnvironment, after: BenchEnvironment): string {
  return `Node ${env.node} (V8 ${env.v8}), ${env.cpu} x${env.cores}, load average ${env.loadAverage.join(' ')} before, ${after.loadAverage.join(' ')} after`;
}

/** The suite as a command: prints the report (stdout), progress on stderr; 0 ok, 1 failure, 2 usage. */
export async function runServerBench(argv: string[]): Promise<number> {
  let values: { json?: boolean; quick?: boolean; repetitions?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { json: { type: 'boolean' }, quick: { type: 'boolean' }, repetitions: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const repetitions = values.repetitions === undefined ? undefined : Number(values.repetitions);
  if (repetitions !== undefined && !(Number.isInteger(repetitions) && repetitions >= 1)) {
    process.stderr.write(`--repetitions must be a positive integer, got '${values.repetitions}'\n\n${USAGE}\n`);
    return 2;
  }
  const quick = values.quick === true;
  const log = (line: string): void => void process.stderr.write(`[bench] ${line}\n`);
  const envBefore = describeEnvironment();
  try {
    const report = await run({ quick, log, repetitions });
    const envAfter = describeEnvironment();
    process.stdout.write(
      values.json
        ? `${JSON.stringify({ env: envBefore, loadAverageAfter: envAfter.loadAverage, suites: { server: report.json } }, null, 2)}\n`
        : `${environmentLine(envBefore, envAfter)}\n\n${report.markdown}\n`,
    );
    return 0;
  } catch (error) {
    if (!(error instanceof BenchFailure)) throw error;
    process.stderr.write(`FAIL server: ${error.message}\n`);
    return 1;
  }
}
