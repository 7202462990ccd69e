import { describe, expect, it } from 'vitest';
import { AckScheduler } from '../../src/ack/ack-scheduler.js';
import { AckSession, type AckSessionOwner } from '../../src/ack/ack-session.js';
import type { AckSink } from '../../src/ack/ack-writer.js';
import type { CommitMode } from '../../src/handlers/types.js';
import type { FinalReason } from '../../src/wire/ack.js';

/** Completes every write at once and keeps the counts written. */
class Sink implements AckSink {
  destroyed = false;
  counts: number[] = [];
  write(chunk: Buffer, callback: (error?: Error | null) => void): boolean {
    this.counts.push(Number(chunk.readBigUInt64LE(26)));
    callback();
    return true;
  }
}

class Owner implements AckSessionOwner {
  ended: FinalReason[] = [];
  commitSeconds: number[] = [];
  endWith(reason: FinalReason): void {
    this.ended.push(reason);
  }
  observeCommit(seconds: number): void {
    this.commitSeconds.push(seconds);
  }
}

/** Two turns: promise callbacks (microtasks) run, then the scheduler's setImmediate they queued. */
const turn = async (): Promise<void> => {
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
};

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void } {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

function session(modes: CommitMode[]): { s: AckSession; sink: Sink; owner: Owner } {
  const sink = new Sink();
  const owner = new Owner();
  return { s: new AckSession(sink, new AckScheduler(() => 1), modes, owner), sink, owner };
}

describe('AckSession', () => {
  it('commits a batch of a synchronous settle handler at its end, one ACK per turn', async () => {
    const { s, sink, owner } = session(['settle']);
    s.endBatch(3);
    s.endBatch(7);
    await turn();
    expect(sink.counts).toEqual([7]);
    expect(owner.commitSeconds).toHaveLength(2); // one sample per batch
    expect(owner.commitSeconds.every((x) => x >= 0 && x < 1)).toBe(true);
  });

  it("waits for a settle handler's promises, in batch order even when a later one resolves first", async () => {
    const { s, sink } = session(['settle']);
    const a = deferred();
    const b = deferred();
    s.holdPromise(0, a.promise);
    s.endBatch(2);
    s.holdPromise(0, b.promise);
    s.holdPromise(0, b.promise);
    s.endBatch(5);
    s.endBatch(6); // no promise: committed behind the held batches
    b.resolve();
    await turn();
    expect(sink.counts).toEqual([]);
    a.resolve();
    await turn();
    expect(sink.counts).toEqual([6]);
  });

  it('ignores promises of deferred handlers: they commit through the tracker', async () => {
    const { s, sink } = session(['deferred']);
    s.holdPromise(0, deferred().promise); // never settles: must not matter
    s.endBatch(4);
    await turn();
    expect(sink.counts).toEqual([]);
    s.tracker.commit(0, 4);
    await turn();
    expect(sink.counts).toEqual([4]);
  });

  it('is the minimum over handlers', async () => {
    const { s, sink } = session(['settle', 'deferred']);
    s.endBatch(10);
    s.tracker.commit(1, 6);
    await turn();
    expect(sink.counts).toEqual([6]);
  });

  it('a failed handler ends the connection with handler_error and its frames stay unacknowledged', async () => {
    const { s, sink, owner } = session(['settle']);
    s.endBatch(2);
    const p = deferred();
    s.holdPromise(0, p.promise);
    s.endBatch(4);
    p.reject(new Error('no'));
    s.fail(0, new Error('no')); // what the dispatch does when the reader reports the rejection
    await turn();
    expect(owner.ended).toEqual(['handler_error']);
    expect(sink.counts).toEqual([2]);
    expect(s.tracker.committed).toBe(2);
  });

  it('settled tells the drain when every accepted frame is committed; onProgress fires on each growth', async () => {
    const { s } = session(['deferred']);
    let progress = 0;
    s.onProgress = () => progress++;
    s.endBatch(3);
    expect(s.settled).toBe(false);
    s.tracker.commit(0, 3);
    expect(s.settled).toBe(true);
    expect(progress).toBe(1);
  });
});
