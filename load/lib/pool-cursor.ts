/**
 * Walks a frame pool in a cycle, handing out runs of whole frames as views
 * (no copies). Each connection owns a cursor; the pool itself is shared.
 */
import type { FramePool } from './frame-pool.js';

export interface FrameRun {
  bytes: Buffer;
  frames: number;
}

export class PoolCursor {
  private buffer = 0;
  private frame = 0;

  constructor(private readonly pool: FramePool) {
    if (pool.frames === 0) throw new RangeError('the frame pool is empty');
  }

  /**
   * The next run: at most `maxFrames` frames and `maxBytes` bytes (but always
   * at least one frame), never crossing the end of a pool buffer.
   */
  next(maxFrames: number, maxBytes: number): FrameRun {
    const offsets = this.pool.offsets[this.buffer];
    const first = this.frame;
    const base = offsets[first];
    // Largest end index in (first, hi] whose run still fits maxBytes: binary search.
    let lo = first + 1;
    let hi = Math.min(offsets.length - 1, first + Math.max(1, maxFrames));
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (offsets[mid] - base <= maxBytes) lo = mid;
      else hi = mid - 1;
    }
    const end = lo;
    const bytes = this.pool.buffers[this.buffer].subarray(base, offsets[end]);
    if (end === offsets.length - 1) {
      this.buffer = (this.buffer + 1) % this.pool.buffers.length;
      this.frame = 0;
    } else {
      this.frame = end;
    }
    return { bytes, frames: end - first };
  }
}
