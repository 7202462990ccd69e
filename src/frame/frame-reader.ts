/**
 * The framed reader of one connection (as tokio-util's FramedRead): the one
 * owner of the connection's unread bytes and of its end of stream. It owns
 * the ring (taken from the pool only while bytes are in flight), the
 * decoder, the buffer of a frame larger than the ring, the backlog of bytes
 * received but not yet through the ring, and (through its HoldLedger) the
 * holds handlers put on delivered bytes. It applies the error policy; the
 * socket layer only moves bytes and pauses or resumes.
 *
 *   socket --reserveRead()/committed(n)---------------> ring --decode--> consumer.onFrame(view)
 *   socket --offer(chunk)--copy what fits------------> ring              ... consumer.onBatchEnd()
 *                 '--rest (copied if borrowed)--> backlog --pump()--> ring
 *   frame > ring --> big (own buffer, one per connection) --decode--> consumer
 *   big fails under resync --> the bytes after it go to the FRONT of backlog
 *   consumer --hold(promise)--> HoldLedger mark; settle --> ring.release --> pump()
 *                                                   --> onRoom() (the socket may resume)
 *   finish(): pump backlog as room allows --> end (a partial frame counts
 *             `truncated`) --> ring back to the pool once holds settle --> onFinished()
 *
 * States: reading; waiting (no room, or a backlog: the caller stops reading
 * until onRoom); finishing (after finish(), while the backlog drains);
 * failed (close policy: the caller closes; finish() ends at once); closed.
 * At a frame error the policy decides (drop, resync, close); at close the
 * backlog and a partial oversize frame are dropped, held bytes stay held.
 */
import type { Ring } from '../ring/ring.js';
import { ReadCore } from './read-core.js';

export type { ErrorPolicy, FrameConsumer } from './consumer.js';

export class FrameReader extends ReadCore {
  /** Called when the reader refused input (no room, a backlog) and can take a new read again. */
  onRoom: (() => void) | null = null;
  /** Called once, when finish() has delivered what it could and ended. */
  onFinished: (() => void) | null = null;

  private waitingForRoom = false;
  private finishing = false;
  private ended = false;

  /**
   * Reserves the region the next read should land in (it may take a ring
   * from the pool, or allocate an oversize frame's buffer). Null when the
   * reader takes no new read now (no room, a backlog, failed): the caller
   * stops reading until onRoom. A new view per call.
   */
  reserveRead(): Buffer | null {
    if (this.backlog !== null) {
      this.waitingForRoom = true;
      return null; // the backlog comes before any new read
    }
    const region = this.region();
    if (region === null && this.failed === null && !this.closed) this.waitingForRoom = true;
    return region;
  }

  /** `n` bytes landed in the region reserveRead() returned last. */
  committed(n: number): void {
    this.landed(n);
    this.drainBacklog();
    this.endBatch();
  }

  /**
   * Takes a chunk that landed elsewhere ('data' events, the shared landing
   * buffer): copies what the ring has room for, keeps the rest in the
   * backlog (copied first if `borrowed`: the caller reuses that memory).
   * True if the reader takes more input now; false: stop reading until onRoom.
   */
  offer(chunk: Buffer, start = 0, end = chunk.length, borrowed = false): boolean {
    if (this.failed !== null || this.closed) return false;
    const at = start + this.write(chunk, start, end);
    if (at < end && this.failed === null) {
      const rest = borrowed ? Buffer.from(chunk.subarray(at, end)) : chunk.subarray(at, end);
      this.backlog = this.backlog === null ? rest : Buffer.concat([this.backlog, rest]);
      this.waitingForRoom = true;
    }
    return this.backlog === null && this.failed === null;
  }

  /**
   * Copies chunk[start, end) through the ring as far as room allows and
   * processes it; returns the bytes taken (the rest is the caller's: offer()
   * keeps it instead). Used by offer(), file readers and tests.
   */
  write(chunk: Buffer, start = 0, end = chunk.length): number {
    let at = start;
    while (at < end && this.drainBacklog()) {
      const n = this.feed(chunk, at, end);
      at += n;
      if (n === 0 && this.backlog === null) break;
    }
    this.drainBacklog();
    this.endBatch();
    return at - start;
  }

  /**
   * The pump step: moves the backlog through the ring as far as room allows
   * (a batch of its own). True when nothing waits and the reader is live.
   */
  pump(): boolean {
    if (this.backlog !== null && this.failed === null && !this.closed) {
      this.drainBacklog();
      this.endBatch();
    }
    return this.backlog === null && this.failed === null && !this.closed;
  }

  /** Register a handler's promise on the frames of the current batch. */
  hold(promise: PromiseLike<unknown>, handlerIndex: number): void {
    this.ledger.hold(promise, handlerIndex);
  }

  /**
   * End of stream (FIN, reset, timeout, drain): delivers the backlog as room
   * allows, then ends (a partial frame counts `truncated`), closes, and calls
   * onFinished. The ring goes back to the pool once every hold settled.
   */
  finish(): void {
    if (this.finishing) return;
    this.finishing = true;
    if (this.closed) return this.complete();
    if (!this.pump() && this.failed === null && this.backlog !== null) return; // settled() pumps on
    this.complete();
  }

  /**
   * The stream ended with no backlog: a partly received frame counts one
   * `truncated`. (finish() calls it; exposed for tests that end without closing.)
   */
  end(): void {
    if (this.failed !== null || this.closed || this.ended) return;
    this.ended = true;
    const partial = this.big.active || this.backlog !== null || (this.ring !== null && this.ring.pending > 0);
    if (partial) this.consumer.onFrameError('truncated', this.decoder.offset);
  }

  /** Abort: no more input, the backlog is dropped; the ring returns once holds settle. */
  close(): void {
    this.closed = true;
    this.big.drop(-1);
    this.backlog = null;
    this.account(); // the dropped backlog leaves the gauge now, held bytes stay in it
    this.giveBackIfDone();
    // finish() was waiting for room to deliver the backlog (a handler timeout aborts it): it ends now.
    if (this.finishing) this.complete();
  }

  /** Received bytes wait in the backlog for room. */
  get hasBacklog(): boolean {
    return this.backlog !== null;
  }

  /** The reader refused input and has not called onRoom yet: the socket is paused. */
  get waiting(): boolean {
    return this.waitingForRoom;
  }

  /** Feeds the backlog through the ring as far as room allows; true once it is all in. */
  private drainBacklog(): boolean {
    while (this.backlog !== null && this.failed === null) {
      const b = this.backlog;
      this.backlog = null;
      const rest = b.subarray(this.feed(b, 0, b.length));
      if (this.backlog !== null) {
        // An oversize frame inside it failed: the bytes after that frame come first.
        if (rest.length > 0) this.backlog = Buffer.concat([this.backlog, rest]);
      } else if (rest.length > 0) {
        this.backlog = rest;
        return false;
      }
    }
    return this.backlog === null;
  }

  /** Copies chunk[start, end) into read regions and processes it, while there is room. */
  private feed(chunk: Buffer, start: number, end: number): number {
    let at = start;
    while (at < end && this.backlog === null) {
      let region = this.region();
      if (region === null && this.ledger.batchBytes > 0) {
        // The room may be taken by this very batch: close it (handlers see
        // onBatchEnd before its bytes are released) and look again.
        this.endBatch();
        region = this.region();
      }
      if (region === null) {
        if (this.failed === null && !this.closed) this.waitingForRoom = true;
        break;
      }
      const n = Math.min(region.length, end - at);
      chunk.copy(region, 0, at, at + n);
      at += n;
      this.landed(n);
    }
    return at - start;
  }

  /** Front marks settled: release their bytes, pump the backlog, then resume or finish. */
  protected settled(): void {
    this.ledger.releaseSettled(this.ring as Ring);
    const live = this.pump(); // its own batch: frames in it may be held
    this.account();
    if (this.closed) this.giveBackIfDone();
    else if (this.finishing) {
      if (live || this.failed !== null) this.complete();
    } else if (live && this.waitingForRoom && this.region() !== null) {
      this.waitingForRoom = false;
      this.onRoom?.();
    }
  }

  private complete(): void {
    this.finishing = false;
    this.end();
    this.close();
    const done = this.onFinished;
    this.onFinished = null;
    done?.();
  }

  private giveBackIfDone(): void {
    if (this.ledger.busy) return;
    if (this.ring !== null) {
      this.pool.release(this.ring);
      this.ring = null;
    }
    this.account();
  }

}
