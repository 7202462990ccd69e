/**
 * Target (a): one case fed through a FrameReader in-process, the way a
 * Connection drives it (reserveRead + committed, or write; finish() at the end), with a handler
 * that holds some frames with promises and lets them go in random order,
 * as a slow sink would. Then the checks:
 *   - nothing but the decoder's own outcomes: no exception escapes;
 *   - no stall and no hang: the feed always makes progress, within a budget;
 *   - a held frame's bytes stay intact until its promise settles;
 *   - frames and errors exactly as the reference model says;
 *   - every ring byte returns once the connection closed (ringBytes 0).
 */
import { performance } from 'node:perf_hooks';
import { FrameReader, type FrameConsumer } from '../../src/frame/frame-reader.js';
import type { PacketView } from '../../src/frame/packet-view.js';
import { IngestStats } from '../../src/metrics/ingest-stats.js';
import { RingPool } from '../../src/ring/pool.js';
import type { FuzzCase } from './case.js';
import { compareEvents, type Observed } from './compare.js';
import { modelDecode } from './model.js';
import { Rand } from './rand.js';

export type FindingKind = 'exception' | 'mismatch' | 'stall' | 'hang' | 'lifetime' | 'leak' | 'heap';

export interface Finding {
  kind: FindingKind;
  message: string;
}

export interface CaseResult {
  frames: number;
  observed: Observed;
  finding: Finding | null;
}

interface Held {
  view: PacketView;
  expected: Buffer;
  sourceId: string;
  resolve: () => void;
  reject: (error: Error) => void;
}

export interface DriveOptions {
  /** Cooperative time bound of one input (the watchdog catches the rest). */
  budgetMs?: number;
}

/** Lets promise reactions (hold releases) run. */
async function settle(): Promise<void> {
  await Promise.resolve();
  await Promise.resolve();
}

/**
 * Ends the stream through the reader's own finish(), releasing holds while
 * it waits for room; false if it cannot end (nothing held, yet not finished).
 */
async function finishReader(reader: FrameReader, release: () => Promise<void>, holding: () => boolean): Promise<boolean> {
  let finished = false;
  reader.onFinished = () => {
    finished = true;
  };
  reader.finish();
  for (let rounds = 0; !finished; rounds++) {
    if (!holding() || rounds > 1000) return false;
    await release();
  }
  return true;
}

export async function runReaderCase(c: FuzzCase, opts: DriveOptions = {}): Promise<CaseResult> {
  const budgetMs = opts.budgetMs ?? 5000;
  const started = performance.now();
  const r = new Rand(c.seed);
  const pool = new RingPool(c.ringBytes, 1);
  const stats = new IngestStats();
  const observed: Observed = { frames: [], errors: [] };
  const held: Held[] = [];
  let lifetime: string | null = null;
  let reader: FrameReader | null = null;

  const consumer: FrameConsumer = {
    onFrame(view) {
      const frame = Buffer.from(view.frame);
      const sourceId = view.sourceId;
      observed.frames.push({ offset: view.offset, frame, sourceId, destId: view.destId });
      if (c.holdRate > 0 && r.chance(c.holdRate)) {
        let resolve!: () => void;
        let reject!: (error: Error) => void;
        const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
        held.push({ view, expected: frame, sourceId, resolve, reject });
        (reader as FrameReader).hold(promise, 0);
        (reader as FrameReader).decoder.detachView(); // as Connection does
      }
    },
    onBatchEnd() {},
    onFrameError(reason, offset) {
      observed.errors.push({ reason, offset });
    },
    onHoldError() {},
  };

  /** Settles some (or all) held frames, in random order, checking their bytes first. */
  const release = async (all: boolean): Promise<void> => {
    for (let n = all ? held.length : r.int(1, held.length); n > 0; n--) {
      const [h] = held.splice(all ? 0 : r.int(0, held.length - 1), 1);
      if (!h.view.frame.equals(h.expected) || h.view.sourceId !== h.sourceId) {
        lifetime ??= `frame @${h.view.offset} changed while a handler still held it`;
      }
      if (r.chance(0.05)) h.reject(new Error('fuzz: handler rejected'));
      else h.resolve();
    }
    await settle();
  };

  const result = (finding: CaseResult['finding']): CaseResult => ({ frames: observed.frames.length, observed, finding });

  try {
    reader = new FrameReader(pool, c.limits, c.policy, stats, consumer);
    reader.onRoom = () => {};
    const bytes = c.bytes;
    let at = 0;
    let k = 0;
    let idle = 0;
    while (at < bytes.length && reader.failed === null) {
      const end = Math.min(bytes.length, at + Math.max(1, c.cuts[k++ % c.cuts.length]));
      while (at < end && reader.failed === null) {
        if (performance.now() - started > budgetMs) return result({ kind: 'hang', message: `input not done after ${budgetMs} ms (at byte ${at} of ${bytes.length})` });
        let taken = 0;
        if (c.mode === 'readBuffer') {
          const region = reader.reserveRead();
          if (region !== null) {
            taken = Math.min(region.length, end - at);
            bytes.copy(region, 0, at, at + taken);
            reader.committed(taken);
          }
        } else {
          taken = reader.write(bytes, at, end);
        }
        at += taken;
        if (taken > 0 || reader.failed !== null) idle = 0;
        else if (held.length > 0) await release(false);
        else if (++idle > 3) {
          return result({ kind: 'stall', message: `reader takes no bytes at ${at} of ${bytes.length} (${c.mode}) and no handler holds any` });
        }
        if (held.length > 0 && r.chance(0.2)) await release(false);
      }
    }
    // A connection may close while handlers still hold its frames, or after. A release
    // can deliver more frames (bytes replayed after a failed oversize frame): those too.
    const releaseAll = async (): Promise<void> => {
      for (let rounds = 0; held.length > 0; rounds++) {
        if (rounds > 1000) throw new Error('holds keep coming after 1000 rounds of releases');
        await release(true);
      }
    };
    if (r.chance(0.5)) {
      // The end of the stream, as the server meets it. On the onread path a connection
      // reads on only while reserveRead() offers room (else it pauses and cannot see the
      // FIN); on the 'data' path it pauses only when write() took less than the chunk.
      if (c.mode === 'readBuffer') {
        for (let rounds = 0; reader.failed === null && reader.reserveRead() === null; rounds++) {
          if (held.length === 0 || rounds > 1000) {
            return result({ kind: 'stall', message: `reserveRead() offers no room after the last byte and no handler holds any` });
          }
          await release(false);
        }
      }
      // As Connection.closed() does: finish() delivers the backlog as room appears, then ends.
      if (!(await finishReader(reader, () => release(false), () => held.length > 0))) {
        return result({ kind: 'stall', message: 'received bytes wait for room after the last byte and no handler holds any' });
      }
      await releaseAll();
    } else {
      await releaseAll();
      if (!(await finishReader(reader, () => release(false), () => held.length > 0))) {
        return result({ kind: 'stall', message: 'finish() did not end with no handler holding anything' });
      }
    }
    await settle();
  } catch (error) {
    return result({ kind: 'exception', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  }
  if (lifetime !== null) return result({ kind: 'lifetime', message: lifetime });
  if (stats.ringBytes !== 0 || pool.inUse !== 0) {
    return result({ kind: 'leak', message: `after close: ringBytes ${stats.ringBytes}, rings in use ${pool.inUse}` });
  }
  const mismatch = compareEvents(c.bytes, observed, modelDecode(c.bytes, c.limits, c.policy));
  return result(mismatch === null ? null : { kind: 'mismatch', message: mismatch });
}
