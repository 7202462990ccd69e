/**
 * `pkt-ingest inspect FILE`: checks a capture frame by frame with the same
 * ring and decoder as the server, reading the file straight into the ring
 * (memory stays at one ring, plus one frame larger than it, if any).
 * It resyncs past bad frames so that every error is counted.
 */
import fs from 'node:fs';
import { RingError } from '../errors.js';
import type { DecoderLimits } from '../frame/frame-decoder.js';
import { FrameReader, type FrameConsumer } from '../frame/frame-reader.js';
import type { PacketView } from '../frame/packet-view.js';
import { IngestStats } from '../metrics/ingest-stats.js';
import { RingPool } from '../ring/pool.js';
import { FRAME_ERROR_REASONS, type FrameErrorReason } from '../wire/reasons.js';

export interface InspectReport {
  frames: number;
  bytes: number;
  errors: Partial<Record<FrameErrorReason, number>>;
  firstError: { offset: number; reason: FrameErrorReason } | null;
  torn: { offset: number } | null;
}

/**
 * A ring that holds the largest frame the limits allow (up to 64 MiB), so
 * no frame needs its own buffer: memory stays one ring however big the file.
 */
function ringBytesFor(limits: DecoderLimits): number {
  const largest = limits.maxHeaderBytes + limits.maxPayloadBytes;
  return Math.min(64 * 1024 * 1024, Math.max(1024 * 1024, Math.ceil(largest / 65536) * 65536 + 65536));
}

class Tally implements FrameConsumer {
  readonly report: InspectReport = { frames: 0, bytes: 0, errors: {}, firstError: null, torn: null };
  onFrame(packet: PacketView): void {
    this.report.frames++;
    this.report.bytes += packet.frameLength;
  }
  onBatchEnd(): void {}
  onFrameError(reason: FrameErrorReason, offset: number): void {
    const r = this.report;
    r.errors[reason] = (r.errors[reason] ?? 0) + 1;
    r.firstError ??= { offset, reason };
    if (reason === 'truncated') r.torn = { offset };
  }
  onHoldError(): void {}
}

/** Throws the fs error (ENOENT...) if the file cannot be read. */
export function inspectFile(path: string, limits: DecoderLimits, ringBytes = ringBytesFor(limits)): InspectReport {
  const tally = new Tally();
  const reader = new FrameReader(new RingPool(ringBytes, 0), limits, { onFrameError: 'resync', onChecksumError: 'drop' }, new IngestStats(), tally);
  const fd = fs.openSync(path, 'r');
  try {
    for (;;) {
      const region = reader.reserveRead();
      if (region === null) throw new RingError('inspect: ring full with no handler holding it (a bug in pkt-ingest: please report it)');
      const n = fs.readSync(fd, region, 0, region.length, null);
      if (n === 0) break;
      reader.committed(n);
    }
    reader.end();
  } finally {
    fs.closeSync(fd);
  }
  return tally.report;
}

export function isClean(report: InspectReport): boolean {
  return report.firstError === null;
}

export function formatReport(path: string, report: InspectReport): string {
  const lines = [`${path}: ${isClean(report) ? 'OK' : 'INVALID'}`, `frames: ${report.frames}`, `bytes:  ${report.bytes}`];
  const errs = FRAME_ERROR_REASONS.filter((r) => report.errors[r]);
  lines.push(`errors: ${errs.length === 0 ? 'none' : errs.map((r) => `${r}=${report.errors[r]}`).join(' ')}`);
  if (report.firstError) lines.push(`first error: ${report.firstError.reason} at byte offset ${report.firstError.offset}`);
  if (report.torn) lines.push(`torn last frame at byte offset ${report.torn.offset}`);
  return lines.join('\n');
}
