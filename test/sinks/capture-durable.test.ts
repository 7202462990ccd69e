/**
 * append(segments, onDurable): the order of writes, syncs and onDurable
 * callbacks, observed through the capture's fs seam (docs/reliability.md, Acknowledgements).
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { frames } from '../handlers/drive.js';
import { captureKit, deferred, loggingFs, type FsEvent } from './capture-kit.js';

const kit = captureKit();

/** Stream offset where each append ends. */
function ends(appends: Buffer[][]): number[] {
  let at = 0;
  return appends.map((a) => (at += Buffer.concat(a).length));
}

/**
 * The rule, checked on a whole log: every onDurable of append i comes after
 * a write reaching its end and (unless `never`) a sync after that write;
 * callbacks come in append order. Returns the number of syncs.
 */
function expectDurableAfterSync(events: FsEvent[], appendEnds: number[], needsSync: boolean): number {
  const fired: number[] = [];
  events.forEach((e, d) => {
    if (e.op !== 'durable') return;
    fired.push(e.append);
    const w = events.findIndex((x) => x.op === 'write' && x.end >= appendEnds[e.append]);
    expect(w, `append ${e.append} durable before its write`).toBeGreaterThanOrEqual(0);
    expect(w).toBeLessThan(d);
    if (needsSync) expect(events.slice(w + 1, d).some((x) => x.op === 'sync'), `append ${e.append} durable before a sync`).toBe(true);
  });
  expect(fired).toEqual([...fired].sort((a, b) => a - b));
  return events.filter((e) => e.op === 'sync').length;
}

describe('append(segments, onDurable)', () => {
  it('always: one sync covers every write before it (group commit), callbacks in append order', async () => {
    const events: FsEvent[] = [];
    const gate = deferred();
    let writes = 0;
    const file = await kit.open({ fsync: 'always', fs: loggingFs(events, { writev: () => (++writes === 1 ? gate.promise : Promise.resolve()) }) });
    const appends = [0, 1, 2, 3, 4].map((i) => frames(2, i * 2));
    const durable = appends.map(() => deferred());
    const written = appends.map((a, i) =>
      file.append(a, () => {
        events.push({ op: 'durable', append: i });
        durable[i].resolve();
      }),
    );
    gate.resolve(); // appends 1..4 queued behind the first write: one writev, one sync
    await Promise.all([...written, ...durable.map((d) => d.promise)]);
    const e = ends(appends);
    expect(events).toEqual([
      { op: 'write', end: e[0] },
      { op: 'sync' },
      { op: 'durable', append: 0 },
      { op: 'write', end: e[4] },
      { op: 'sync' },
      ...[1, 2, 3, 4].map((append) => ({ op: 'durable', append })),
    ]);
    expect(expectDurableAfterSync(events, e, true)).toBe(2);
  });

  it('always: an append split by a rotation is durable after the sync of its last part', async () => {
    const events: FsEvent[] = [];
    const all = frames(6, 0, { payload: Buffer.alloc(66) }); // 100-byte frames
    const file = await kit.open({ fsync: 'always', rotateBytes: 400, keepFiles: 3, fs: loggingFs(events) });
    const appends = [all.slice(0, 2), all.slice(2, 6)]; // the second crosses 400 bytes after 2 of its frames
    const done = deferred();
    await file.append(appends[0], () => events.push({ op: 'durable', append: 0 }));
    await file.append(appends[1], () => (events.push({ op: 'durable', append: 1 }), done.resolve()));
    await done.promise;
    expect(events.map((e) => e.op)).toEqual(['write', 'sync', 'durable', 'write', 'sync', 'write', 'sync', 'durable']);
    expectDurableAfterSync(events, ends(appends), true);
    expect(readFileSync(join(kit.dir, 'cap.pkt.1')).equals(Buffer.concat(all.slice(0, 4)))).toBe(true);
  });

  it('interval: the append resolves on write; onDurable waits for the next interval sync', async () => {
    const events: FsEvent[] = [];
    const syncStarted = deferred();
    const syncGate = deferred();
    const file = await kit.open({
      fsync: 'interval',
      fsyncIntervalMs: 20,
      fs: loggingFs(events, { sync: () => (syncStarted.resolve(), syncGate.promise) }),
    });
    const appends = [frames(3), frames(2, 3), frames(4, 5)];
    const durable = deferred();
    let fired = 0;
    for (const [i, a] of appends.entries()) {
      await file.append(a, () => {
        events.push({ op: 'durable', append: i });
        if (++fired === appends.length) durable.resolve();
      });
    }
    await syncStarted.promise; // the writes returned and the interval fired: only the sync is missing
    expect(fired).toBe(0);
    syncGate.resolve();
    await durable.promise;
    expect(events.map((e) => e.op)).toEqual(['write', 'write', 'write', 'sync', 'durable', 'durable', 'durable']);
    expectDurableAfterSync(events, ends(appends), true);
  });

  it('never: onDurable fires when the write returned, before the append resolves, with no sync', async () => {
    const events: FsEvent[] = [];
    const file = await kit.open({ fsync: 'never', fs: loggingFs(events) });
    const appends = [frames(2), frames(3, 2)];
    for (const [i, a] of appends.entries()) {
      await file.append(a, () => events.push({ op: 'durable', append: i }));
      expect(events.at(-1)).toEqual({ op: 'durable', append: i });
    }
    expect(expectDurableAfterSync(events, ends(appends), false)).toBe(0);
  });

  it('interval: never fires for a sync of a removed file; fires after its frames were rewritten and synced', async () => {
    const events: FsEvent[] = [];
    const file = await kit.open({ fsync: 'interval', fsyncIntervalMs: 60_000, pathCheckMs: 60_000, fs: loggingFs(events) });
    const batch = frames(4);
    let fired = 0;
    await file.append(batch, () => (fired++, events.push({ op: 'durable', append: 0 })));
    rmSync(join(kit.dir, 'cap.pkt'));
    await file.close(); // its last path check finds the removal, rewrites, syncs
    expect(fired).toBe(1);
    expect(events.map((e) => e.op)).toEqual(['write', 'write', 'sync', 'durable']);
    expect(file.pathLosses).toBe(1);
    expect(readFileSync(join(kit.dir, 'cap.pkt')).equals(Buffer.concat(batch))).toBe(true);
  });

  it('a file closed before its writes are durable never calls their onDurable', async () => {
    const events: FsEvent[] = [];
    let syncAttempts = 0;
    const eio = () => (syncAttempts++, Promise.reject(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' })));
    const file = await kit.open({ fsync: 'interval', fsyncIntervalMs: 60_000, fs: loggingFs(events, { sync: eio }) });
    let fired = 0;
    await file.append(frames(3), () => fired++);
    await file.close();
    expect(syncAttempts).toBe(1); // close tried the sync that would have made them durable
    expect(fired).toBe(0);
  });

  it('an empty append commits in order: after the appends before it, at once when there are none', async () => {
    const gate = deferred();
    const file = await kit.open({ fsync: 'always', fs: loggingFs([], { writev: () => gate.promise }) });
    const order: string[] = [];
    await file.append([], () => order.push('empty-first'));
    expect(order).toEqual(['empty-first']);
    const written = file.append(frames(2), () => order.push('frames'));
    const last = deferred();
    const empty = file.append([], () => (order.push('empty-after'), last.resolve()));
    expect(order).toEqual(['empty-first']); // the frames are not written yet, so neither commits
    gate.resolve();
    await Promise.all([written, empty, last.promise]);
    expect(order).toEqual(['empty-first', 'frames', 'empty-after']);
  });

  it('a throwing onDurable is counted and does not stop the callbacks after it', async () => {
    const file = await kit.open({ fsync: 'never' });
    const errors: Error[] = [];
    file.onError = (e) => errors.push(e);
    let after = 0;
    await file.append(frames(1), () => {
      throw new Error('caller bug');
    });
    await file.append(frames(1, 1), () => after++);
    expect(after).toBe(1);
    expect(errors.map((e) => e.message)).toEqual(['caller bug']);
  });
});
