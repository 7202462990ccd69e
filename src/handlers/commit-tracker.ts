/**
 * Commit tracking for one connection in ack mode (docs/protocol.md Acknowledgements,
 * docs/reliability.md): which of the connection's accepted frames every
 * handler has committed.
 *
 *   accepted  ........................................ 120   (frames handed to handlers)
 *   handler 0 'settle'    holds: [..80 done][..100 ][..120 done]  -> mark 80
 *   handler 1 'deferred'  context.commit(conn, 110)               -> mark 110
 *   committed = min(accepted, mark 0, mark 1) = 80  -> listener.onCommitted(80)
 *
 * A 'settle' handler's mark advances over its holds IN ORDER: a later
 * batch whose promise settles first waits for the earlier one (its frames
 * come after). A 'deferred' handler's mark is what it commits, cumulative.
 * Marks are kept unclamped (a handler may commit in onPacket before the
 * connection counted the read); the committed count is clamped to
 * `accepted` and only ever grows. With no handlers every accepted frame is
 * committed at once.
 *
 * Owner: the connection that entered ack mode (phase 2) creates it, feeds
 * accept(); the dispatch feeds hold/release/settle; HandlerContext.commit
 * and failCommit reach it through the connection's COMMIT_TRACKER field.
 * At end of stream / frame error / drain the connection stops feeding it
 * and sends FINAL with `committed`; a failed handler freezes its mark and
 * tells the listener, which ends the connection (FINAL handler_error).
 * Nothing here is shared across connections; no timers, no I/O.
 */
import type { CommitMode, ConnectionInfo } from './types.js';

/** The field a connection in ack mode sets to its tracker (plain connections leave it unset). */
export const COMMIT_TRACKER: unique symbol = Symbol('pkt-ingest.commitTracker');

/** A ConnectionInfo that may carry a tracker. */
export interface TrackedConnection extends ConnectionInfo {
  [COMMIT_TRACKER]?: CommitTracker;
}

/** The connection's tracker, or undefined when it is not in ack mode. */
export function commitTrackerOf(connection: ConnectionInfo): CommitTracker | undefined {
  return (connection as TrackedConnection)[COMMIT_TRACKER];
}

export interface CommitListener {
  /** The committed count grew to `count`. */
  onCommitted(count: number): void;
  /**
   * A sampled read is now committed; `acceptedAtMs` is its receipt time as
   * passed to accept() (pkt_ingest_commit_seconds). Called after
   * onCommitted, once per sampled read it covers, oldest first.
   */
  onCommitSample?(acceptedAtMs: number): void;
  /** Handler `handlerIndex` will never commit past its mark: end the connection with FINAL handler_error. */
  onCommitFailed(handlerIndex: number, error: unknown): void;
}

/** One 'settle' handler's holds in stream order: upTo counts, and whether each settled. */
class Holds {
  upTo: number[] = [];
  done: boolean[] = [];
  head = 0;

  get empty(): boolean {
    return this.head === this.upTo.length;
  }

  push(upTo: number, done: boolean): void {
    this.upTo.push(upTo);
    this.done.push(done);
  }

  /** Marks the first unsettled hold at `upTo` done; false if there is none. */
  settle(upTo: number): boolean {
    for (let i = this.head; i < this.upTo.length; i++) {
      if (this.upTo[i] === upTo && !this.done[i]) {
        this.done[i] = true;
        return true;
      }
    }
    return false;
  }

  /** Pops settled holds from the front; returns the last popped upTo, or -1. */
  advance(): number {
    let mark = -1;
    while (this.head < this.upTo.length && this.done[this.head]) mark = this.upTo[this.head++];
    if (this.head === this.upTo.length) {
      this.upTo.length = this.done.length = this.head = 0;
    } else if (this.head > 64 && this.head * 2 > this.upTo.length) {
      this.upTo.splice(0, this.head);
      this.done.splice(0, this.head);
      this.head = 0;
    }
    return mark;
  }
}

/**
 * Receipt-time samples kept for commit latency, at most this many
 * outstanding. When they are all taken before a commit, every other one is
 * dropped and reads are sampled half as often, so the samples stay spread
 * evenly over the reads since the last commit (not bunched at its start,
 * which would overstate the latency of a group commit).
 */
const SAMPLES = 16;

export class CommitTracker {
  /** Frames accepted on the connection (from 1 at its first frame). */
  accepted = 0;
  /** Frames every handler committed; only grows. */
  committed = 0;
  /** Set once a handler failed a commit. */
  failed = false;
  private readonly modes: readonly CommitMode[];
  private readonly marks: Float64Array;
  private readonly holds: (Holds | null)[];
  private readonly frozen: boolean[];
  // A ring of (count, ms) receipt samples, oldest at sampleHead.
  private readonly sampleCount = new Float64Array(SAMPLES);
  private readonly sampleMs = new Float64Array(SAMPLES);
  private sampleHead = 0;
  private samples = 0;
  /** Sample one read in `stride`; `skip` reads to go before the next sample. */
  private stride = 1;
  private skip = 0;

  constructor(
    modes: readonly CommitMode[],
    private readonly listener: CommitListener,
  ) {
    this.modes = modes;
    this.marks = new Float64Array(modes.length);
    this.holds = modes.map((mode) => (mode === 'settle' ? new Holds() : null));
    this.frozen = modes.map(() => false);
  }

  /** The connection has accepted `count` frames in all (call once per read, after handing them over). */
  accept(count: number, nowMs = -1): void {
    if (count <= this.accepted) return;
    this.accepted = count;
    if (nowMs >= 0) this.sample(count, nowMs);
    this.update();
  }

  private sample(count: number, nowMs: number): void {
    if (this.skip > 0) {
      this.skip--;
      return;
    }
    if (this.samples === SAMPLES) {
      // The last sample kept is one old stride back: the next is one more old stride on.
      this.thin();
      this.skip = this.stride / 2 - 1;
      return;
    }
    const at = (this.sampleHead + this.samples++) % SAMPLES;
    this.sampleCount[at] = count;
    this.sampleMs[at] = nowMs;
    this.skip = this.stride - 1;
  }

  /** Keeps every other sample (the 2nd, 4th, ...) and samples half as often. */
  private thin(): void {
    let kept = 0;
    for (let i = 1; i < this.samples; i += 2, kept++) {
      const from = (this.sampleHead + i) % SAMPLES;
      const to = (this.sampleHead + kept) % SAMPLES;
      this.sampleCount[to] = this.sampleCount[from];
      this.sampleMs[to] = this.sampleMs[from];
    }
    this.samples = kept;
    this.stride *= 2;
  }

  /** 'settle' handler `h` holds frames up to `upTo` until release(h, upTo) or reject(). */
  hold(h: number, upTo: number): void {
    this.holds[h]?.push(upTo, false);
  }

  /** The hold of handler `h` at `upTo` settled successfully. */
  release(h: number, upTo: number): void {
    const holds = this.holds[h];
    if (holds === null || this.frozen[h] || !holds.settle(upTo)) return;
    this.raise(h, holds.advance());
  }

  /** 'settle' handler `h` finished frames up to `upTo` synchronously (behind any hold still pending). */
  settle(h: number, upTo: number): void {
    const holds = this.holds[h];
    if (holds === null || this.frozen[h]) return;
    if (holds.empty) this.raise(h, upTo);
    else holds.push(upTo, true);
  }

  /** 'deferred' handler `h` committed the first `count` frames (context.commit). */
  commit(h: number, count: number): void {
    if (this.modes[h] !== 'deferred' || this.frozen[h]) return;
    this.raise(h, count);
  }

  /** Handler `h` failed a frame (a rejected hold, or context.failCommit): it never commits past its mark. */
  fail(h: number, error: unknown): void {
    if (this.frozen[h]) return;
    this.frozen[h] = true;
    this.failed = true;
    this.listener.onCommitFailed(h, error);
  }

  private raise(h: number, mark: number): void {
    if (mark <= this.marks[h]) return;
    this.marks[h] = mark;
    this.update();
  }

  private update(): void {
    let min = this.accepted;
    const marks = this.marks;
    for (let i = 0; i < marks.length; i++) if (marks[i] < min) min = marks[i];
    if (min <= this.committed) return;
    this.committed = min;
    const listener = this.listener;
    listener.onCommitted(min);
    while (this.samples > 0 && this.sampleCount[this.sampleHead] <= min) {
      listener.onCommitSample?.(this.sampleMs[this.sampleHead]);
      this.sampleHead = (this.sampleHead + 1) % SAMPLES;
      this.samples--;
    }
    if (this.samples === 0) {
      // Every sampled read is covered: sample every read again.
      this.stride = 1;
      this.skip = 0;
    }
  }
}
