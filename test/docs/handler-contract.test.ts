/**
 * The concurrency rule that src/handlers/types.ts and examples/README.md
 * state: onPacket is called again before an earlier promise settles, and
 * what one connection can have in flight is bounded by its ring
 * (tcp.ringBytes / 26 bytes, the smallest frame), after which the producer
 * is paused until promises settle.
 */
import { describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/wire/encode.js';
import { connect, startServer, until } from '../helpers/live-server.js';
import { deferred, type Deferred } from '../helpers/feed.js';

describe('handler concurrency, as documented', () => {
  it('keeps calling onPacket while promises are pending, up to ringBytes / 26 per connection, then pauses the producer', async () => {
    const ringBytes = 4096;
    const pending: Deferred[] = [];
    const handler = {
      onPacket() {
        const d = deferred();
        pending.push(d);
        return d.promise;
      },
    };
    const live = await startServer({ tcp: { ringBytes } }, { handlers: [{ name: 'hold', handler }] });
    try {
      const smallest = encodeFrame({ sourceId: '', destId: '', payload: Buffer.alloc(0) });
      expect(smallest).toHaveLength(26);
      const total = 1000;
      const socket = await connect(live.tcpPort);
      socket.write(Buffer.concat(Array.from({ length: total }, () => smallest)));
      const connection = () => [...live.server.tcp!.connections][0];
      await until(() => connection()?.paused === true, 10_000, 'the producer paused by backpressure');
      const inFlight = pending.length;
      expect(inFlight).toBeGreaterThan(1); // not one at a time
      expect(inFlight).toBeLessThanOrEqual(Math.floor(ringBytes / 26)); // bounded by the ring
      // Settling them lets the rest through.
      let released = 0;
      while (released < total) {
        const upTo = pending.length;
        for (; released < upTo; released++) pending[released].resolve();
        if (released < total) await until(() => pending.length > upTo, 10_000, 'more packets after a release');
      }
      expect(pending).toHaveLength(total);
      socket.destroy();
    } finally {
      await live.stop();
    }
  });
});
