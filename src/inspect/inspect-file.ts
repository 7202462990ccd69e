/**
 * `pkt-ingest inspect FILE`: checks a capture frame by frame through the
 * capture reader (the server's ring and decoder, the file read straight
 * into the ring: memory stays one ring, plus one frame larger than it, if
 * any). It resyncs past bad frames so that every error is counted.
 */
import type { CaptureFrameError } from '../capture/errors.js';
import { readCapture } from '../capture/read-capture.js';
import type { DecoderLimits } from '../frame/frame-decoder.js';
import { FRAME_ERROR_REASONS, type FrameErrorReason } from '../wire/reasons.js';

export interface InspectReport {
  frames: number;
  bytes: number;
  errors: Partial<Record<FrameErrorReason, number>>;
  firstError: { offset: number; reason: FrameErrorReason } | null;
  torn: { offset: number } | null;
}

/** Throws the fs error (ENOENT...) if the file cannot be read. Only `path` itself, not its rotated files. */
export function inspectFile(path: string, limits: DecoderLimits, ringBytes = 1024 * 1024): InspectReport {
  const report: InspectReport = { frames: 0, bytes: 0, errors: {}, firstError: null, torn: null };
  const onFrameError = ({ reason, offset }: CaptureFrameError): void => {
    report.errors[reason] = (report.errors[reason] ?? 0) + 1;
    report.firstError ??= { offset, reason };
    if (reason === 'truncated') report.torn = { offset };
  };
  for (const packet of readCapture([path], { limits, ringBytes, onFrameError })) {
    report.frames++;
    report.bytes += packet.frameLength;
  }
  return report;
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
