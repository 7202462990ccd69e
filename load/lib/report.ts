/** The load generator's results: the report shape, its text table and the live progress line. */

export interface LoadReport {
  /** Whole frames written (handed to the kernel by the end of the run). */
  packets: number;
  /** Wire bytes written. */
  bytes: number;
  /** From the first write to the last FIN handed to the kernel. */
  seconds: number;
  mpktPerSec: number;
  /** 10^6 bytes per second. */
  mbPerSec: number;
  /** Connections that failed during the run. */
  errors: number;
  /** Frames sent with a deliberately wrong checksum (--corrupt-every). */
  corrupted: number;
  connections: number;
  /** The first failure's message, if any. */
  firstError: string | null;
  /** --acks: frames the server acknowledged, and the ack latency of a write (median, 99th percentile). */
  acked?: number;
  ackP50Ms?: number;
  ackP99Ms?: number;
}

export interface LoadProgress {
  packets: number;
  bytes: number;
  errors: number;
  seconds: number;
}

export function makeReport(totals: LoadProgress & { corrupted: number; connections: number; firstError: string | null }): LoadReport {
  const { packets, bytes, seconds } = totals;
  const perSecond = (n: number): number => (seconds > 0 ? n / seconds / 1e6 : 0);
  return {
    packets,
    bytes,
    seconds: round(seconds, 6),
    mpktPerSec: round(perSecond(packets), 4),
    mbPerSec: round(perSecond(bytes), 2),
    errors: totals.errors,
    corrupted: totals.corrupted,
    connections: totals.connections,
    firstError: totals.firstError,
  };
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export function formatReport(report: LoadReport): string {
  const rows: [string, string][] = [
    ['connections', String(report.connections)],
    ['packets', String(report.packets)],
    ['bytes', String(report.bytes)],
    ['seconds', report.seconds.toFixed(3)],
    ['Mpkt/s', report.mpktPerSec.toFixed(3)],
    ['MB/s', report.mbPerSec.toFixed(1)],
    ['corrupted', String(report.corrupted)],
    ['errors', String(report.errors)],
  ];
  if (report.acked !== undefined) {
    rows.push(['acked', String(report.acked)], ['ack p50 ms', String(report.ackP50Ms)], ['ack p99 ms', String(report.ackP99Ms)]);
  }
  return rows.map(([name, value]) => `${name.padEnd(12)}${value.padStart(16)}`).join('\n');
}

/** One status line; `packetsPerSec` is the rate over the last interval. */
export function formatProgress(progress: LoadProgress, packetsPerSec: number): string {
  return (
    `${progress.seconds.toFixed(1)} s  ${(packetsPerSec / 1e6).toFixed(3)} Mpkt/s  ` +
    `sent ${progress.packets} pkts (${(progress.bytes / 1e6).toFixed(1)} MB)  errors ${progress.errors}`
  );
}
