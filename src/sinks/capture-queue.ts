/**
 * The capture writer's queue of appends, oldest first. Owned by one
 * CaptureFile; only its writer loop takes from it.
 *
 *   append(segments) -> [ a1 | a2 | a3 ... ]  --take(room)-->  one writev
 *                          whole appends that fit the room, then the whole
 *                          frames of the next one that still fit (a split)
 *
 * An append stays queued (its promise pending, the caller's ring bytes held)
 * until its last byte is written; a split append keeps its unwritten tail as
 * views. At close an unwritable remainder is handed back whole (drain()).
 */
import { splitSegments, wholeFramesWithin } from './capture-frames.js';

export interface Append {
  segments: Buffer[];
  bytes: number;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
  readonly onDurable: (() => void) | undefined;
}

/** One write: whole appends, then optionally the head of a split one. */
export interface Batch {
  readonly segments: Buffer[];
  readonly bytes: number;
  /** Whole appends at the queue front this batch completes. */
  readonly whole: number;
  /** Bytes taken from the append after them (0: none); it is not complete yet. */
  readonly partialBytes: number;
  readonly partialTail: Buffer[];
}

export class AppendQueue {
  private readonly items: Append[] = [];
  /** Bytes queued or being written (kept as a sum: status() reads it). */
  pendingBytes = 0;

  get length(): number {
    return this.items.length;
  }

  push(append: Append): void {
    this.items.push(append);
    this.pendingBytes += append.bytes;
  }

  /**
   * The next write for a file with `room` bytes left before rotateBytes, or
   * null when not even one frame fits (rotate first). An empty file always
   * takes at least one frame, however large.
   */
  take(room: number, fileEmpty: boolean): Batch | null {
    const items = this.items;
    let n = 0;
    let bytes = 0;
    while (n < items.length && bytes + items[n].bytes <= room) bytes += items[n++].bytes;
    let partialBytes = 0;
    let head: Buffer[] = [];
    let partialTail: Buffer[] = [];
    if (n < items.length) {
      // Only an append crossing rotateBytes is walked frame by frame.
      partialBytes = wholeFramesWithin(items[n].segments, room - bytes, fileEmpty && n === 0);
      if (partialBytes === items[n].bytes) {
        bytes += items[n++].bytes; // one frame larger than the room, into an empty file: whole after all
        partialBytes = 0;
      } else if (partialBytes > 0) [head, partialTail] = splitSegments(items[n].segments, partialBytes);
    }
    if (n === 0 && partialBytes === 0) return null;
    // The common case, one whole append, passes its own array: no copy of the list.
    let segments: Buffer[];
    if (n === 1 && partialBytes === 0) segments = items[0].segments;
    else {
      segments = [];
      for (let k = 0; k < n; k++) for (const s of items[k].segments) segments.push(s);
      for (const s of head) segments.push(s);
    }
    return { segments, bytes: bytes + partialBytes, whole: n, partialBytes, partialTail };
  }

  /** The batch is on disk: returns its completed appends (in order) and keeps a split one's tail (none once drained). */
  written(batch: Batch): Append[] {
    this.pendingBytes -= batch.bytes;
    const done = this.items.splice(0, batch.whole);
    if (batch.partialBytes > 0 && this.items.length > 0) {
      const split = this.items[0];
      split.segments = batch.partialTail;
      split.bytes -= batch.partialBytes;
    }
    return done;
  }

  /** Empties the queue (close gave up on them). */
  drain(): Append[] {
    this.pendingBytes = 0;
    return this.items.splice(0);
  }
}
