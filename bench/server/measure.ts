/**
 * One measured run: a fresh server process for one contender, a warm-up
 * session, then the measured session, both driven by the producer child;
 * the counts checked against what was sent; the server's peak RSS read
 * before it is stopped. The run's temp directory (config, capture files)
 * is deleted afterwards. A run during which other processes took more than
 * MAX_FOREIGN_CORES of CPU is done again (up to MAX_ATTEMPTS times in all),
 * and the least disturbed attempt kept: the suite measures the servers, not
 * their neighbours on a shared machine.
 *
 *   server child            producer child
 *   start, listen, VmHWM
 *                  ------>  warm-up run (packets / 5)  -> session report, checked
 *                  ------>  measured run (packets)     -> session report, checked
 *   VmHWM, SIGTERM, verify (capture: the files hold every byte sent)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LoadReport } from '../../load/lib/report.js';
import { LOAD_DEFAULTS } from '../../load/lib/run-load.js';
import { FIXED_HEADER_BYTES } from '../../src/wire/constants.js';
import type { SessionReport } from '../servers/session.js';
import { BenchFailure } from '../lib/suite.js';
import { ServerChild, type ProducerChild } from './children.js';
import type { Contender } from './contenders.js';
import { ForeignLoad } from './foreign-load.js';

export interface Workload {
  readonly name: string;
  readonly payloadBytes: number;
  readonly connections: number;
  /** Frames in the measured run, over all connections. */
  readonly packets: number;
  /** Frames in the warm-up run (same server process, not timed); 0: none. */
  readonly warmupPackets: number;
}

export interface RunSample {
  /** Server side: first byte (or packet) to the last packet, seconds. */
  readonly seconds: number;
  /** Producer side: first write to the last byte handed to the kernel, seconds. */
  readonly producerSeconds: number;
  /** VmHWM of the server process right after it listened (start-up, no traffic), bytes. */
  readonly startRssBytes: number;
  /** VmHWM of the server process at the end of the run, bytes. */
  readonly peakRssBytes: number;
  /** CPU other processes used during the measured session, in cores (see foreign-load.ts). */
  readonly foreignCores: number;
  /** Runs this sample took (more than 1: the others were disturbed more). */
  readonly attempts: number;
}

/** Above this much CPU taken by other processes (of 2 cores here), a run is done again. */
export const MAX_FOREIGN_CORES = 0.2;
export const MAX_ATTEMPTS = 3;

/** Wire bytes of one frame as the producer builds them (load/lib defaults: 8-byte ids). */
export function frameBytes(payloadBytes: number): number {
  return FIXED_HEADER_BYTES + LOAD_DEFAULTS.sourceLen + 1 + LOAD_DEFAULTS.destLen + 1 + payloadBytes;
}

/** Generous: a contender at 20 MB/s still finishes; a hung one fails the suite. */
function sessionTimeoutMs(bytes: number): number {
  return 30_000 + bytes / 20_000;
}

function check(contender: Contender, what: string, packets: number, bytes: number, sent: LoadReport, got: SessionReport): void {
  const problems: string[] = [];
  if (sent.errors > 0) problems.push(`the producer failed: ${sent.firstError ?? 'unknown error'}`);
  if (sent.packets !== packets || sent.bytes !== bytes) problems.push(`the producer sent ${sent.packets} frames / ${sent.bytes} B`);
  if (got.errors > 0) problems.push(`the server rejected ${got.errors} frame(s), first: ${got.firstError}`);
  if (contender.parses && got.packets !== packets) problems.push(`the server delivered ${got.packets} packets`);
  if (got.bytes !== bytes) problems.push(`the server received ${got.bytes} B`);
  if (!(got.seconds > 0)) problems.push(`the server timed ${got.seconds} s`);
  if (problems.length > 0) {
    throw new BenchFailure(`${contender.name}, ${what}: expected ${packets} frames / ${bytes} B; ${problems.join('; ')}`);
  }
}

async function session(
  server: ServerChild,
  producer: ProducerChild,
  contender: Contender,
  workload: Workload,
  packets: number,
  what: string,
): Promise<{ sent: LoadReport; got: SessionReport; foreignCores: number }> {
  const bytes = packets * frameBytes(workload.payloadBytes);
  const foreign = new ForeignLoad([server.pid, producer.pid]);
  const [sent, got] = await Promise.all([
    producer.run({ port: server.port, connections: workload.connections, packets, payloadBytes: workload.payloadBytes, tls: contender.clientTls }),
    server.nextSession(sessionTimeoutMs(bytes)),
  ]);
  const foreignCores = foreign.cores();
  check(contender, `${workload.name}, ${what}`, packets, bytes, sent, got);
  return { sent, got, foreignCores };
}

/** One sample: the least disturbed of up to `maxAttempts` runs. */
export async function measureRun(
  contender: Contender,
  workload: Workload,
  producer: ProducerChild,
  log: (line: string) => void = () => {},
  maxAttempts = MAX_ATTEMPTS,
): Promise<RunSample> {
  let best: Omit<RunSample, 'attempts'> | null = null;
  let attempts = 0;
  while (attempts < maxAttempts) {
    attempts++;
    const sample = await runOnce(contender, workload, producer);
    if (best === null || sample.foreignCores < best.foreignCores) best = sample;
    if (sample.foreignCores <= MAX_FOREIGN_CORES) break;
    log(`${contender.key} ${workload.name}: other processes took ${sample.foreignCores.toFixed(2)} cores${attempts < maxAttempts ? ', again' : ''}`);
  }
  return { ...(best as Omit<RunSample, 'attempts'>), attempts };
}

async function runOnce(contender: Contender, workload: Workload, producer: ProducerChild): Promise<Omit<RunSample, 'attempts'>> {
  const dir = mkdtempSync(join(tmpdir(), 'pkt-ingest-bench-'));
  let server: ServerChild | null = null;
  try {
    server = await ServerChild.start(contender.start(workload.connections, dir));
    const startRssBytes = server.peakRssBytes();
    if (workload.warmupPackets > 0) await session(server, producer, contender, workload, workload.warmupPackets, 'warm-up');
    const { sent, got, foreignCores } = await session(server, producer, contender, workload, workload.packets, 'measured run');
    const sample = { seconds: got.seconds, producerSeconds: sent.seconds, startRssBytes, peakRssBytes: server.peakRssBytes(), foreignCores };
    await server.stop();
    const problem = contender.verify?.(dir, (workload.warmupPackets + workload.packets) * frameBytes(workload.payloadBytes)) ?? null;
    if (problem !== null) throw new BenchFailure(`${contender.name}, ${workload.name}: after stopping, ${problem}`);
    return sample;
  } finally {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
