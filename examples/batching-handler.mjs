/**
 * An example `module` handler that batches: every packet becomes one JSON
 * line, and lines are written to a file `batchSize` at a time (or after
 * `flushMs`, whichever comes first), one write in flight at a time.
 *
 * Config:
 *   { "type": "module", "name": "ndjson", "path": "examples/batching-handler.mjs",
 *     "options": { "path": "data/packets.ndjson", "batchSize": 500, "flushMs": 200 } }
 *
 * Why it is shaped this way (see examples/README.md, "Concurrency"):
 * - onPacket is called for every packet of a read, one after another,
 *   without waiting for an earlier promise: thousands may be "in flight" per
 *   connection. So onPacket does no I/O and returns nothing (the fast
 *   path); it copies what it keeps (a string here) because the packet is a
 *   view that is reused once the call returns.
 * - onBatchEnd, called once after each read's packets, returns the promise
 *   of the batch those packets went into. The server keeps that read's
 *   bytes until the promise settles, and stops reading from a producer
 *   whose ring is full: a slow disk slows producers, it never grows memory.
 *   One promise per read (not one per packet) keeps the bookkeeping small,
 *   and a failed write counts one handler error per read, not per packet.
 * - Writes are chained: each batch is written after the previous one, so
 *   lines stay in delivery order (per connection: the order sent).
 */
import { open } from 'node:fs/promises';
import { clearTimeout, setTimeout } from 'node:timers';

export default async function createBatchingHandler(options, context) {
  const path = options.path;
  if (typeof path !== 'string' || path === '') throw new Error('options.path: missing (allowed: a file path for the JSON lines)');
  const batchSize = options.batchSize ?? 500;
  const flushMs = options.flushMs ?? 200;
  const file = await open(path, 'a');

  let lines = [];
  /** The batch being filled: its promise settles once its lines are written. */
  let batch = null;
  /** The promise of the newest batch, filled or being filled. */
  let newest = Promise.resolve();
  let timer = null;
  /** The last write; the next one starts after it, whatever its outcome. */
  let writing = Promise.resolve();
  let written = 0;

  function newBatch() {
    let resolve;
    let reject;
    const promise = new Promise((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // Nobody may be waiting on it yet (a timer flush): do not let a failure go unhandled.
    promise.catch(() => {});
    timer = setTimeout(flush, flushMs);
    newest = promise;
    return { promise, resolve, reject };
  }

  function flush() {
    if (batch === null) return;
    const { resolve, reject } = batch;
    const data = lines.join('');
    const count = lines.length;
    lines = [];
    batch = null;
    clearTimeout(timer);
    timer = null;
    writing = writing
      .catch(() => {})
      .then(() => file.write(data))
      .then(() => {
        written += count;
        resolve();
      }, (err) => {
        context.log.error({ err, lines: count, path }, 'batch write failed');
        reject(err);
      });
  }

  return {
    onPacket(packet, connection) {
      // Strings and numbers are copies already; the payload view is encoded now, while it is valid.
      lines.push(
        `${JSON.stringify({
          conn: connection.id,
          source: packet.sourceId,
          dest: packet.destId,
          timestamp: packet.timestamp,
          flags: packet.flags,
          payload: packet.payload.toString('base64'),
        })}\n`,
      );
      batch ??= newBatch();
      if (lines.length >= batchSize) flush();
    },
    onBatchEnd() {
      // This read's packets went into the newest batch (and maybe older ones,
      // which are written before it): its promise covers them all.
      return newest;
    },
    get written() {
      return written;
    },
    async close() {
      flush();
      await writing.catch(() => {});
      await file.close();
      context.log.info({ path, written }, 'batching handler closed');
    },
  };
}
