/**
 * From run samples to the suite's figures: medians per cell, ratios to the
 * baselines, the producer's headroom, the memory test and the goals.
 */
import { median, spread } from '../lib/stats.js';
import { CONTENDERS, type ContenderKey } from './contenders.js';
import { frameBytes, type RunSample, type Workload } from './measure.js';

const MiB = 2 ** 20;

export interface Cell {
  readonly workload: string;
  readonly payloadBytes: number;
  readonly connections: number;
  readonly contender: ContenderKey;
  readonly name: string;
  /** Per measured run (the same stream every run). */
  readonly packets: number;
  readonly bytes: number;
  readonly runs: readonly RunSample[];
  /** Medians over the runs, server side. For the raw sinks, Mpkt/s counts the frames they were sent. */
  readonly seconds: number;
  readonly mpps: number;
  readonly gbps: number;
  /** Median rate the producer achieved while feeding this server (its own clock). */
  readonly producerGbps: number;
  /** (max - min) / median of the run times. */
  readonly spread: number;
  /** Median CPU other processes took during the runs, in cores; and the runs it took to get these samples. */
  readonly foreignCores: number;
  readonly attempts: number;
  /** Largest VmHWM over the runs, and the largest growth over the server's VmHWM right after start-up. */
  readonly peakRssMiB: number;
  readonly rssGrowthMiB: number;
  /** Throughput over the copying baseline's, the bl baseline's and the onread sink's (same workload); null if absent. */
  readonly vsCopying: number | null;
  readonly vsBl: number | null;
  readonly vsOnread: number | null;
}

export function summarize(workload: Workload, key: ContenderKey, runs: readonly RunSample[]): Cell {
  const bytes = workload.packets * frameBytes(workload.payloadBytes);
  const seconds = median(runs.map((r) => r.seconds));
  return {
    workload: workload.name,
    payloadBytes: workload.payloadBytes,
    connections: workload.connections,
    contender: key,
    name: (CONTENDERS.find((c) => c.key === key) as { name: string }).name,
    packets: workload.packets,
    bytes,
    runs,
    seconds,
    mpps: workload.packets / seconds / 1e6,
    gbps: bytes / seconds / 1e9,
    producerGbps: median(runs.map((r) => bytes / r.producerSeconds / 1e9)),
    spread: spread(runs.map((r) => r.seconds)),
    foreignCores: median(runs.map((r) => r.foreignCores)),
    attempts: runs.reduce((n, r) => n + r.attempts, 0),
    peakRssMiB: Math.max(...runs.map((r) => r.peakRssBytes)) / MiB,
    rssGrowthMiB: Math.max(...runs.map((r) => r.peakRssBytes - r.startRssBytes)) / MiB,
    vsCopying: null,
    vsBl: null,
    vsOnread: null,
  };
}

/** Fills in the ratios of every cell of one workload. */
export function withRatios(cells: readonly Cell[]): Cell[] {
  const rate = (key: ContenderKey): number | null => cells.find((c) => c.contender === key)?.gbps ?? null;
  const over = (gbps: number, base: number | null): number | null => (base === null ? null : gbps / base);
  const [copying, bl, onread] = [rate('copying'), rate('bl'), rate('raw-onread')];
  return cells.map((c) => ({ ...c, vsCopying: over(c.gbps, copying), vsBl: over(c.gbps, bl), vsOnread: over(c.gbps, onread) }));
}

/**
 * How close each server came to the producer's ceiling: the rate at which
 * the producer alone gets a stream into the onread sink (the fastest
 * receiver there is), as that sink measures it, like every other server.
 */
export interface Headroom {
  readonly workload: string;
  /** Receiver side: the onread sink's measured rate. */
  readonly producerAloneGbps: number;
  readonly producerAloneMpps: number;
  /** The same runs on the producer's own clock (first write to the last byte handed to the kernel). */
  readonly producerClockGbps: number;
  /** Server-side rate of each contender over producerAloneGbps. */
  readonly share: ReadonlyArray<{ contender: ContenderKey; gbps: number; fraction: number }>;
}

/** A server at or above this share of the producer's ceiling may be producer-bound. */
export const PRODUCER_BOUND = 0.9;

export function headroom(cells: readonly Cell[]): Headroom | null {
  const alone = cells.find((c) => c.contender === 'raw-onread');
  if (alone === undefined) return null;
  return {
    workload: alone.workload,
    producerAloneGbps: alone.gbps,
    producerAloneMpps: alone.mpps,
    producerClockGbps: alone.producerGbps,
    share: cells.map((c) => ({ contender: c.contender, gbps: c.gbps, fraction: c.gbps / alone.gbps })),
  };
}

/** The memory test: the slow handler's peak RSS per workload, and against a longer stream. */
export interface MemoryResult {
  readonly cells: readonly Cell[];
  /** The same workload with a `scale` times longer stream, if run. */
  readonly longer: { readonly base: Cell; readonly long: Cell; readonly scale: number } | null;
}

/** Growth of the slow handler's peak RSS from a 1x to a longer stream, within this, counts as bounded. */
export const RSS_BOUND_MiB = 16;

export interface GoalCheck {
  readonly goal: string;
  readonly measured: string;
  readonly met: boolean;
}

export function checkGoals(cells: readonly Cell[], memory: MemoryResult): GoalCheck[] {
  const checks: GoalCheck[] = [];
  const fx = (n: number | null, d = 2): string => (n === null ? 'n/a' : n.toFixed(d));
  const ours = cells.filter((c) => c.contender === 'pkt-ingest');
  for (const c of ours) {
    checks.push({ goal: `${c.workload}: pkt-ingest >= 4x copying`, measured: `${fx(c.vsCopying)}x`, met: (c.vsCopying ?? 0) >= 4 });
  }
  for (const c of ours.filter((c) => c.payloadBytes === 16384)) {
    checks.push({
      goal: `${c.workload}: pkt-ingest >= 85% of the onread sink`,
      measured: `${fx((c.vsOnread ?? 0) * 100, 0)}%`,
      met: (c.vsOnread ?? 0) >= 0.85,
    });
  }
  for (const c of ours.filter((c) => c.payloadBytes === 64)) {
    checks.push({ goal: `${c.workload}: pkt-ingest >= 3 Mpkt/s`, measured: `${fx(c.mpps)} Mpkt/s`, met: c.mpps >= 3 });
  }
  for (const c of cells.filter((c) => c.contender === 'capture' && c.payloadBytes === 16384)) {
    checks.push({ goal: `${c.workload}: capture >= 1 GB/s`, measured: `${fx(c.gbps)} GB/s`, met: c.gbps >= 1 });
  }
  const longer = memory.longer;
  if (longer !== null) {
    const growth = longer.long.peakRssMiB - longer.base.peakRssMiB;
    checks.push({
      goal: `slow handler, ${longer.base.workload}: peak RSS grows < ${RSS_BOUND_MiB} MiB with a ${longer.scale}x longer stream`,
      measured: `${fx(longer.base.peakRssMiB, 0)} -> ${fx(longer.long.peakRssMiB, 0)} MiB (${growth >= 0 ? '+' : ''}${fx(growth, 1)})`,
      met: growth < RSS_BOUND_MiB,
    });
  }
  return checks;
}
