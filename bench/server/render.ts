/** The server suite's markdown report. */
import { fixed, percent } from '../lib/stats.js';
import { markdownTable } from '../lib/table.js';
import { CONTENDERS, SLOW } from './contenders.js';
import { frameBytes, MAX_ATTEMPTS, MAX_FOREIGN_CORES } from './measure.js';
import { PRODUCER_BOUND, RSS_BOUND_MiB, type Cell, type GoalCheck, type Headroom, type MemoryResult } from './results.js';

export interface RenderInput {
  readonly quick: boolean;
  readonly repetitions: number;
  readonly cells: readonly Cell[];
  readonly headrooms: readonly Headroom[];
  readonly memory: MemoryResult;
  readonly goals: readonly GoalCheck[];
}

const ratio = (r: number | null): string => (r === null ? 'n/a' : `${fixed(r, 2)}x`);
const share = (r: number | null): string => (r === null ? 'n/a' : `${Math.round(r * 100)}%`);

function mainTable(cells: readonly Cell[]): string {
  return markdownTable(
    ['workload', 'contender', 'Mpkt/s', 'GB/s', 'vs copying', 'vs bl', 'of onread sink', 'peak RSS MiB (+run)', 'spread', 'other load'],
    cells.map((c) => [
      c.workload,
      c.name,
      fixed(c.mpps, 3) + (CONTENDERS.find((k) => k.key === c.contender)?.parses === false ? '*' : ''),
      fixed(c.gbps, 2),
      ratio(c.vsCopying),
      ratio(c.vsBl),
      share(c.vsOnread),
      `${fixed(c.peakRssMiB, 0)} (+${fixed(Math.max(0, c.rssGrowthMiB), 0)})`,
      percent(c.spread),
      `${fixed(c.foreignCores, 2)}${c.attempts > c.runs.length ? ` (${c.attempts - c.runs.length} redone)` : ''}`,
    ]),
    ['left', 'left'],
  );
}

function headroomTable(headrooms: readonly Headroom[]): string {
  const keys = headrooms[0]?.share.map((s) => s.contender) ?? [];
  return markdownTable(
    ['workload', 'producer alone GB/s', 'Mpkt/s', '(producer clock GB/s)', ...keys],
    headrooms.map((h) => [
      h.workload,
      fixed(h.producerAloneGbps, 2),
      fixed(h.producerAloneMpps, 2),
      fixed(h.producerClockGbps, 2),
      ...keys.map((k) => share(h.share.find((s) => s.contender === k)?.fraction ?? null)),
    ]),
    ['left'],
  );
}

function headroomVerdict(headrooms: readonly Headroom[]): string {
  const close = headrooms.flatMap((h) =>
    h.share.filter((s) => s.contender !== 'raw-onread' && s.fraction >= PRODUCER_BOUND).map((s) => `${s.contender} at ${h.workload} (${share(s.fraction)})`),
  );
  return close.length === 0
    ? `The producer alone is faster than every server at every workload (every server below ${share(PRODUCER_BOUND)} of it), ` +
        'so the figures above are the servers\' own limits. The onread sink is measured at the producer\'s speed by construction: it shows the ceiling, not the sink\'s limit.'
    : `The producer is NOT clearly faster than: ${close.join('; ')}. Those figures may be producer-bound (the server could be faster). ` +
        'The onread sink is measured at the producer\'s speed by construction.';
}

function memorySection(memory: MemoryResult): string {
  const rows = memory.cells.map((c) => [c.workload, fixed(c.mpps, 3), fixed(c.gbps, 2), fixed(c.peakRssMiB, 0), `+${fixed(Math.max(0, c.rssGrowthMiB), 0)}`]);
  const table = markdownTable(['workload', 'Mpkt/s', 'GB/s', 'peak RSS MiB', 'growth over start-up MiB'], rows, ['left']);
  const longer = memory.longer;
  const bound =
    longer === null
      ? ''
      : `\n\nSame handler, ${longer.base.workload}, a ${longer.scale}x longer stream (${longer.long.packets} frames, ` +
        `${fixed(longer.long.bytes / 1e9, 2)} GB): peak RSS ${fixed(longer.base.peakRssMiB, 0)} -> ${fixed(longer.long.peakRssMiB, 0)} MiB ` +
        `(bounded if it grows by less than ${RSS_BOUND_MiB} MiB).`;
  return (
    `### server: memory under a slow handler\n\n` +
    `pkt-ingest with a module handler that returns a promise resolved after ${SLOW.delayMs} ms for every ${SLOW.every}th packet ` +
    `(bench/servers/slow-handler.mjs), plus the counting handler; one run per workload. Held packets keep their ring bytes; ` +
    `a full ring pauses the socket, so memory must not grow with the stream.\n\n${table}${bound}`
  );
}

export function render(input: RenderInput): string {
  const { cells, quick, repetitions } = input;
  const workloads = [...new Set(cells.map((c) => c.workload))];
  const streams = workloads.map((w) => {
    const c = cells.find((x) => x.workload === w) as Cell;
    return `${w}: ${c.packets} frames of ${frameBytes(c.payloadBytes)} B (${fixed(c.bytes / 1e9, 2)} GB)`;
  });
  return [
    `### server: end to end over TCP, ${repetitions} run(s) per cell, medians${quick ? ' (quick: smoke test, figures meaningless)' : ''}`,
    '',
    'Each run: a fresh server process, a warm-up stream (1/5 of the frames, not timed), then the measured stream, both sent by a ' +
      'separate producer process (load/lib runLoad: pre-generated frames, seed 1, 256 KiB writes, 8-byte random ids). Timed by ' +
      'the server, from its first byte (pkt-ingest: first packet) to its last packet. Order of contenders rotated per repetition. ' +
      'GB = 1e9 wire bytes. `*`: a raw sink does not parse; its Mpkt/s counts the frames it was sent. Ratios are of throughput ' +
      'on the same stream. Peak RSS: VmHWM at the end of the run, the largest over the runs; (+run): growth over the VmHWM right ' +
      'after start-up. Every process runs under tsx (its loader thread costs about 35 MiB of RSS). spread: half the min-max range over the median. ' +
      `other load: median CPU (cores) that processes outside the benchmark took during the measured runs; a run with more than ${MAX_FOREIGN_CORES} ` +
      `was done again, up to ${MAX_ATTEMPTS} times, keeping the least disturbed ("redone" counts the extra runs).`,
    '',
    `Streams per measured run: ${streams.join('; ')}.`,
    '',
    mainTable(cells),
    '',
    `### server: the producer's headroom`,
    '',
    'Producer alone = the producer feeding the onread sink, the fastest receiver there is, as the sink measures it ' +
      '(the producer\'s own clock, first write to the last byte handed to the kernel, in brackets). ' +
      'The other columns: each server\'s measured rate as a share of it.',
    '',
    headroomTable(input.headrooms),
    '',
    headroomVerdict(input.headrooms),
    '',
    memorySection(input.memory),
    '',
    '### server: goals',
    '',
    ...(quick
      ? ['Not judged on a smoke test (--quick): its streams are too short for meaningful figures.']
      : input.goals.map((g) => `- ${g.goal}: ${g.measured}, ${g.met ? 'met' : '**not met**'}`)),
  ].join('\n');
}
