/**
 * What the server did against what the reference model says it should do:
 * the same frames (offsets, bytes, ids) and the same errors (reasons and
 * offsets in-process; counts per reason for a live server, which exposes
 * counters rather than offsets).
 */
import { FRAME_ERROR_REASONS, type FrameErrorReason } from '../../src/wire/reasons.js';
import type { ModelError, ModelResult } from './model.js';

export interface ObservedFrame {
  offset: number;
  frame: Buffer;
  sourceId: string;
  destId: string;
}

export interface Observed {
  frames: ObservedFrame[];
  errors: ModelError[];
}

const show = (e: ModelError | undefined): string => (e === undefined ? 'nothing' : `${e.reason}@${e.offset}`);

/** The first difference in the delivered frames, or null. */
function compareFrames(stream: Buffer, frames: readonly ObservedFrame[], model: ModelResult): string | null {
  for (let i = 0; i < Math.max(frames.length, model.frames.length); i++) {
    const got = frames[i];
    const want = model.frames[i];
    if (got === undefined || want === undefined) {
      const what = got === undefined ? `model frame @${want.offset} (${want.length} B) missing` : `extra frame @${got.offset}`;
      return `frames: delivered ${frames.length}, model ${model.frames.length}; first difference at #${i}: ${what}`;
    }
    if (got.offset !== want.offset) return `frame #${i}: offset ${got.offset}, model ${want.offset}`;
    if (!got.frame.equals(stream.subarray(want.offset, want.offset + want.length))) {
      return `frame #${i} @${want.offset}: bytes differ from the stream (${got.frame.length} B vs ${want.length} B)`;
    }
    if (got.sourceId !== want.sourceId || got.destId !== want.destId) {
      return `frame #${i} @${want.offset}: ids ${JSON.stringify([got.sourceId, got.destId])}, model ${JSON.stringify([want.sourceId, want.destId])}`;
    }
  }
  return null;
}

/** The first difference between an in-process run and the model, or null. */
export function compareEvents(stream: Buffer, observed: Observed, model: ModelResult): string | null {
  const frames = compareFrames(stream, observed.frames, model);
  if (frames !== null) return frames;
  const errors = observed.errors;
  for (let i = 0; i < Math.max(errors.length, model.errors.length); i++) {
    const got = errors[i];
    const want = model.errors[i];
    if (got?.reason !== want?.reason || got?.offset !== want?.offset) {
      return `error #${i}: ${show(got)}, model ${show(want)} (model errors: ${model.errors.map(show).join(' ')})`;
    }
  }
  return null;
}

export type ReasonCounts = Record<FrameErrorReason, number>;

export function countReasons(errors: readonly ModelError[]): ReasonCounts {
  const counts = Object.fromEntries(FRAME_ERROR_REASONS.map((r) => [r, 0])) as ReasonCounts;
  for (const e of errors) counts[e.reason]++;
  return counts;
}

/** The first difference between a live run (frames, error counter deltas) and the model, or null. */
export function compareLive(stream: Buffer, frames: readonly ObservedFrame[], counts: ReasonCounts, model: ModelResult): string | null {
  const framesDiffer = compareFrames(stream, frames, model);
  if (framesDiffer !== null) return framesDiffer;
  const want = countReasons(model.errors);
  for (const reason of FRAME_ERROR_REASONS) {
    if (counts[reason] !== want[reason]) return `${reason}: counted ${counts[reason]}, model ${want[reason]} (model errors: ${model.errors.map(show).join(' ')})`;
  }
  return null;
}
