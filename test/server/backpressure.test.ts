import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/wire/encode.js';
import type { ConnectionInfo, Packet, PacketHandler } from '../../src/handlers/types.js';
import { connect, httpGet, startServer, until, type LiveServer } from '../helpers/live-server.js';

let live: LiveServer | null = null;
afterEach(async () => {
  await live?.stop();
  live = null;
});

/** Holds every packet until release() is called; checks bytes are intact when it lets go. */
class Gate implements PacketHandler {
  held: Array<{ packet: Packet; expected: Buffer; resolve: () => void }> = [];
  delivered = 0;
  corrupt = 0;
  onPacket(packet: Packet, _conn: ConnectionInfo): Promise<void> {
    return new Promise((resolve) => this.held.push({ packet, expected: packet.copy().frame, resolve }));
  }
  release(): void {
    for (const h of this.held.splice(0)) {
      if (!h.packet.frame.equals(h.expected)) this.corrupt++;
      this.delivered++;
      h.resolve();
    }
  }
}

describe('backpressure', () => {
  it('pauses a producer while a handler holds the ring, loses nothing, and keeps memory at the ring size', async () => {
    const ringBytes = 64 * 1024;
    const gate = new Gate();
    live = await startServer({ tcp: { ringBytes } }, { handlers: [{ name: 'gate', handler: gate }] });
    const frames = Array.from({ length: 4000 }, (_, i) =>
      encodeFrame({ sourceId: 'p', destId: 'q', payload: Buffer.alloc(1000, i & 0xff), timestamp: i + 1 }),
    );
    const total = frames.length;
    const socket = await connect(live.tcpPort);
    socket.on('error', () => {});
    for (const f of frames) socket.write(f);
    socket.end();

    let maxRingBytes = 0;
    let rounds = 0;
    while (gate.delivered < total && rounds++ < 10_000) {
      await until(() => gate.held.length > 0 && (live!.server.tcp!.connections.size === 0 || [...live!.server.tcp!.connections][0].paused || gate.delivered + gate.held.length === total), 10_000, 'ring full or stream done');
      maxRingBytes = Math.max(maxRingBytes, live.server.stats.ringBytes);
      gate.release();
      await new Promise((r) => setImmediate(r));
    }
    expect(gate.delivered).toBe(total);
    expect(gate.corrupt).toBe(0);
    expect(live.server.stats.backpressurePauses).toBeGreaterThan(0);
    expect(maxRingBytes).toBeLessThanOrEqual(ringBytes);
    await until(() => live!.server.stats.ringBytes === 0, 5000, 'rings drained');
  });

  it('reports not ready while every connection stays paused longer than readiness.stalledMs, and recovers', async () => {
    const gate = new Gate();
    live = await startServer({ tcp: { ringBytes: 16 * 1024 }, readiness: { stalledMs: 100 } }, { handlers: [{ name: 'gate', handler: gate }] });
    const socket = await connect(live.tcpPort);
    socket.on('error', () => {});
    const frame = encodeFrame({ sourceId: 'p', destId: 'q', payload: Buffer.alloc(1000) });
    for (let i = 0; i < 200; i++) socket.write(frame);
    await until(() => [...live!.server.tcp!.connections][0]?.paused === true, 5000, 'paused');
    const started = Date.now();
    let ready = await httpGet(live.httpPort, '/readyz');
    while (ready.status === 200 && Date.now() - started < 5000) {
      await new Promise((r) => setTimeout(r, 50)); // the readiness window is time-based by definition
      ready = await httpGet(live.httpPort, '/readyz');
    }
    expect(ready.status).toBe(503);
    expect(ready.body).toContain('stalled');
    while (gate.delivered < 200) {
      gate.release();
      await new Promise((r) => setImmediate(r));
    }
    socket.destroy();
    await until(() => live!.server.tcp!.connections.size === 0, 5000, 'closed');
    expect((await httpGet(live.httpPort, '/readyz')).status).toBe(200);
  });
});
