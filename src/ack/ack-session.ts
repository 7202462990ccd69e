/**
 * One connection's acknowledgements, from its first ACK_REQUEST frame to its
 * close (docs/protocol.md, Acknowledgements): the glue between the dispatch
 * (which hands frames to handlers), the CommitTracker (which frames every
 * handler committed) and the AckWriter (the only thing writing to the
 * producer). Plain connections never create one.
 *
 *   dispatch: promise of 'settle' handler h  --> holdPromise(h, p)   (counted per batch)
 *   dispatch: batch end (conn.packets = n)   --> endBatch(n)
 *       'settle' h: no promise this batch --> tracker.settle(h, n)
 *                   promises             --> tracker.hold(h, n) ... all resolved --> tracker.release(h, n)
 *       tracker.accept(n, receipt ms)    (the count includes frames before ack mode began)
 *   'deferred' handlers                  --> context.commit --> tracker.commit
 *   tracker.onCommitted(c)  --> writer.commit(c) (coalesced ACK)
 *   tracker.onCommitSample  --> pkt_ingest_commit_seconds (sampled reads, spread evenly)
 *   tracker.onCommitFailed  --> owner.endWith('handler_error')
 *   a rejected promise / a throw (dispatch.onHoldError) --> fail(h)
 *
 * Frames before the first ACK_REQUEST count (from 1 at the connection's
 * first frame) and commit like the rest; a promise a handler returned for
 * them before ack mode is not tracked (a later rejection still ends the
 * connection with handler_error, but an ACK may have covered it: producers
 * that want acknowledgements set the bit from their first frame).
 *
 * Owner: the connection. Allocation: one BatchHold per batch in which a
 * 'settle' handler returned a promise, and one derived promise (.then) per
 * promise it returns; nothing per frame for handlers that return none.
 */
import type { CommitListener } from '../handlers/commit-tracker.js';
import { CommitTracker } from '../handlers/commit-tracker.js';
import type { CommitMode } from '../handlers/types.js';
import type { FinalReason } from '../wire/ack.js';
import type { AckScheduler } from './ack-scheduler.js';
import { AckWriter, type AckSink } from './ack-writer.js';

/** What the session needs of its connection and server. */
export interface AckSessionOwner {
  /** A handler failed a commit: end the connection with ACK + FINAL `reason`. */
  endWith(reason: FinalReason): void;
  /** pkt_ingest_commit_seconds. */
  observeCommit(seconds: number): void;
}

/** The promises one 'settle' handler returned in one batch. */
class BatchHold {
  pending = 0;
  closed = false;
  released = false;
  upTo = 0;
  readonly settle = (): void => {
    this.pending--;
    this.maybeRelease();
  };
  constructor(
    private readonly tracker: CommitTracker,
    readonly handler: number,
  ) {}
  maybeRelease(): void {
    if (this.pending === 0 && this.closed && !this.released) {
      this.released = true;
      this.tracker.release(this.handler, this.upTo);
    }
  }
}

/** Swallows the rejection on the derived promise: the reader's hold already counted it. */
function ignore(): void {}

export class AckSession implements CommitListener {
  readonly tracker: CommitTracker;
  readonly writer: AckWriter;
  /** Indices of 'settle' handlers. */
  private readonly settlers: readonly number[];
  private readonly isSettle: readonly boolean[];
  /** This batch's holds, by handler index (null: none yet). */
  private readonly batch: (BatchHold | null)[];
  private readonly owner: AckSessionOwner;

  constructor(sink: AckSink, scheduler: AckScheduler, modes: readonly CommitMode[], owner: AckSessionOwner) {
    this.owner = owner;
    this.tracker = new CommitTracker(modes, this);
    this.writer = new AckWriter(sink, scheduler);
    this.settlers = modes.flatMap((m, i) => (m === 'settle' ? [i] : []));
    this.isSettle = modes.map((m) => m === 'settle');
    this.batch = modes.map(() => null);
  }

  /** Handler `h` returned `promise` for a frame (or a batch end) of the current batch. */
  holdPromise(h: number, promise: PromiseLike<unknown>): void {
    if (!this.isSettle[h]) return; // 'deferred': it commits through context.commit
    const hold = (this.batch[h] ??= new BatchHold(this.tracker, h));
    hold.pending++;
    promise.then(hold.settle, ignore);
  }

  /** The batch ended with the connection's frame count at `count`. */
  endBatch(count: number): void {
    const tracker = this.tracker;
    const settlers = this.settlers;
    for (let k = 0; k < settlers.length; k++) {
      const h = settlers[k];
      const hold = this.batch[h];
      if (hold === null) tracker.settle(h, count);
      else {
        this.batch[h] = null;
        hold.upTo = count;
        hold.closed = true;
        tracker.hold(h, count);
        hold.maybeRelease();
      }
    }
    tracker.accept(count, performance.now());
  }

  /** Handler `h` threw or its promise rejected: it will not commit past its mark. */
  fail(h: number, error: unknown): void {
    this.tracker.fail(h, error);
  }

  /** Writes ACK + FINAL `reason` (once); resolves when written or given up (see AckWriter.final). */
  final(reason: FinalReason, timeoutMs?: number): Promise<boolean> {
    return this.writer.final(reason, timeoutMs);
  }

  /** Every accepted frame is committed (drain waits for this). */
  get settled(): boolean {
    return this.tracker.committed >= this.tracker.accepted;
  }

  onCommitted(count: number): void {
    this.writer.commit(count);
    this.onProgress?.();
  }

  /** One sampled read committed: pkt_ingest_commit_seconds (at most 16 per commit, see CommitTracker). */
  onCommitSample(acceptedAtMs: number): void {
    this.owner.observeCommit((performance.now() - acceptedAtMs) / 1000);
  }

  onCommitFailed(): void {
    this.owner.endWith('handler_error');
  }

  /** Called after each commit growth (drain uses it to send FINAL after the last commit). */
  onProgress: (() => void) | null = null;
}
