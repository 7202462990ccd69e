/** Totals for /status, read from IngestStats (plain numbers, no allocation per packet anywhere). */
import type { IngestStats } from '../metrics/ingest-stats.js';
import { FRAME_ERROR_REASONS } from '../wire/reasons.js';

export interface StatusTotals {
  packets: number;
  bytes: number;
  frameErrors: number;
  connectionsTotal: number;
  connectionsActive: number;
  backpressurePauses: number;
  handlerErrors: number;
}

export function frameErrorTotal(stats: IngestStats): number {
  let n = 0;
  for (const reason of FRAME_ERROR_REASONS) n += stats.frameErrors[reason];
  return n;
}

export function totalsOf(stats: IngestStats): StatusTotals {
  let handlerErrors = 0;
  for (const n of stats.handlerErrors.values()) handlerErrors += n;
  return {
    packets: stats.packets,
    bytes: stats.bytes,
    frameErrors: frameErrorTotal(stats),
    connectionsTotal: stats.connectionsTotal,
    connectionsActive: stats.connectionsActive,
    backpressurePauses: stats.backpressurePauses,
    handlerErrors,
  };
}
