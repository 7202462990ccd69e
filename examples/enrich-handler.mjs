/**
 * An example `module` handler: counts packets per source and keeps the
 * urgent ones (PRIORITY flag), enriched with a site name, flushing them to
 * an async sink in batches.
 *
 * Config:
 *   { "type": "module", "name": "enrich", "path": "examples/enrich-handler.mjs",
 *     "options": { "sites": { "sensor-1": "north" }, "batchSize": 100 } }
 *
 * The default export is the factory: `(options, context) => handler`, or a
 * promise of one. `options` is the entry's "options" object; `context` has
 * the handler's `name` and a pino `log`. It is called once, at start-up.
 *
 * Lifetime rule: `packet` and every Buffer taken from it (payload, ids,
 * frame) are views into the connection's receive ring. They are valid
 * during onPacket and, if onPacket returns a promise, until it settles;
 * then the bytes are reused. To keep anything longer, call `packet.copy()`
 * (its payload is yours) or copy the fields you need (strings and numbers
 * are always safe to keep).
 *
 * Backpressure: return a promise from onPacket and the server keeps that
 * packet's bytes until it settles; when the connection's ring is full it
 * stops reading from the producer. So a slow sink slows producers down,
 * never grows the server's memory. Return nothing on the fast path.
 */
import { setTimeout as sleep } from 'node:timers/promises';

const PRIORITY = 0x04;

export default function createEnrichHandler(options, context) {
  const sites = options.sites ?? {};
  const batchSize = options.batchSize ?? 100;
  // Stands in for a database or an HTTP call; `sinkDelayMs` makes it slow on purpose.
  const sinkDelayMs = options.sinkDelayMs ?? 0;
  const counts = new Map();
  let pending = [];

  async function flush() {
    const batch = pending;
    pending = [];
    if (sinkDelayMs > 0) await sleep(sinkDelayMs);
    context.log.info({ records: batch.length, first: batch[0]?.sourceId }, 'enriched batch stored');
  }

  return {
    counts,
    onPacket(packet) {
      // Strings and numbers are copies already: safe to keep.
      const source = packet.sourceId;
      counts.set(source, (counts.get(source) ?? 0) + 1);
      if ((packet.flags & PRIORITY) === 0) return undefined;
      // Kept past this call, so copied: the payload view would be overwritten.
      const owned = packet.copy();
      pending.push({ ...owned, site: sites[source] ?? 'unknown' });
      // A promise: the server waits for the sink before reusing these bytes.
      return pending.length >= batchSize ? flush() : undefined;
    },
    async close() {
      if (pending.length > 0) await flush();
      context.log.info({ sources: counts.size }, 'enrich handler closed');
    },
  };
}
