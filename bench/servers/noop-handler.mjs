/**
 * The benchmark's counting handler for pkt-ingest (a `module` handler): does
 * nothing with a packet but count it and its wire bytes, and reports each
 * session to the benchmark over IPC (pkt-ingest runs as a `fork`ed child).
 *
 *   { "type": "module", "name": "count", "path": ".../noop-handler.mjs",
 *     "options": { "connections": 8 } }
 *
 * A session is one producer run: it ends when `connections` connections
 * have closed; the handler then sends
 *   { type: 'session', packets, bytes, errors: 0, firstError: null, seconds }
 * and starts counting afresh. Timed from the first packet to the end of the
 * read that delivered the last one: the clock is read once per read
 * (onBatchEnd), never per packet. Frame errors live in pkt-ingest's own
 * counters; the benchmark sees a dropped frame as a missing packet.
 */
import { performance } from 'node:perf_hooks';
import process from 'node:process';

export default function createCountingHandler(options) {
  const connections = options.connections ?? 1;
  let packets = 0;
  let bytes = 0;
  let first = 0;
  let last = 0;
  let closed = 0;

  return {
    onPacket(packet) {
      if (packets === 0) first = performance.now();
      packets++;
      bytes += packet.frameLength; // a plain field of the view: no allocation
    },
    onBatchEnd() {
      last = performance.now();
    },
    closeConnection() {
      if (++closed < connections) return;
      const report = { type: 'session', packets, bytes, errors: 0, firstError: null, seconds: (last - first) / 1000 };
      if (process.send) process.send(report);
      else process.stdout.write(`${JSON.stringify(report)}\n`);
      packets = bytes = first = last = closed = 0;
    },
  };
}
