/**
 * A slow `module` handler for pkt-ingest's memory test: every `every`-th
 * packet (default 100) it returns a promise that resolves after `delayMs`
 * (default 1 ms), as a handler waiting on a database would. pkt-ingest keeps
 * those packets' ring bytes until the promise settles and stops reading when
 * a ring is full, so the server's memory must stay bounded by its rings
 * however long the stream. Counting is left to noop-handler.mjs, listed after
 * this one.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export default function createSlowHandler(options) {
  const every = options.every ?? 100;
  const delayMs = options.delayMs ?? 1;
  let n = 0;
  return {
    onPacket() {
      if (++n < every) return undefined; // the fast path: nothing held
      n = 0;
      return sleep(delayMs);
    },
  };
}
