import { afterEach, describe, expect, it } from 'vitest';
import { Producer, type ProducerOptions } from '../../src/producer/producer.js';
import { Flags } from '../../src/wire/constants.js';
import type { FrameInput } from '../../src/wire/encode.js';
import { startFakeAckServer } from '../helpers/fake-ack-server.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

function producer(options: Partial<ProducerOptions> & { port: number }): Producer {
  const p = new Producer({ host: '127.0.0.1', acks: true, reconnect: { minMs: 5, maxMs: 20 }, closeTimeoutMs: 300, ...options });
  p.on('error', () => {}); // reconnects are expected here
  cleanups.push(() => p.close());
  return p;
}

const frame = (i: number, bytes = 100): FrameInput => ({
  sourceId: 'src',
  destId: 'dst',
  payload: Buffer.alloc(bytes, i & 0xff),
  timestamp: i,
  flags: Flags.PRIORITY,
});

describe('Producer with acks', () => {
  it('stamps every frame with ACK_REQUEST and sequence 0, 1, 2, ... and flush() waits for the ACKs', async () => {
    const server = await startFakeAckServer();
    cleanups.push(server.close);
    const p = producer({ port: server.port });
    await p.connect();
    for (let i = 0; i < 500; i++) p.send(frame(i));
    await p.flush();
    const frames = server.all();
    expect(frames.map((f) => f.sequence)).toEqual(Array.from({ length: 500 }, (_, i) => i));
    expect(frames.every((f) => f.flags === (Flags.PRIORITY | Flags.ACK_REQUEST))).toBe(true);
    expect(p.stats).toEqual({ sent: 500, acked: 500, resent: 0 });
    expect(p.queuedBytes).toBe(0); // acked slabs were released
  });

  it('flush() does not resolve before the ACK that covers the last frame', async () => {
    const server = await startFakeAckServer(() => ({ autoAck: false }));
    cleanups.push(server.close);
    const p = producer({ port: server.port });
    await p.connect();
    for (let i = 0; i < 10; i++) p.send(frame(i));
    let flushed = false;
    const flushing = p.flush().then(() => (flushed = true));
    await server.until(() => server.all().length === 10); // every frame arrived: the flush had its chance
    const conn = server.connections[0];
    conn.ack(9);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(flushed).toBe(false);
    expect(p.stats.acked).toBe(9);
    conn.ack(10);
    await flushing;
    expect(p.stats.acked).toBe(10);
  });

  it('applies backpressure when maxUnackedBytes are unacknowledged, and acks release the window', async () => {
    const server = await startFakeAckServer(() => ({ autoAck: false }));
    cleanups.push(server.close);
    const p = producer({ port: server.port, maxUnackedBytes: 10_000 });
    await p.connect();
    let sent = 0;
    while (p.send(frame(sent++, 1000))) if (sent > 100) throw new Error('no backpressure');
    expect(sent).toBe(Math.ceil(10_000 / (1000 + 26 + 8 + 27)));
    let drained = false;
    const draining = p.drain().then(() => (drained = true));
    await server.until(() => server.all().length === sent);
    expect(drained).toBe(false);
    server.connections[0].ack(sent);
    await draining;
    expect(p.send(frame(sent, 1000))).toBe(true);
  });

  it('resends every unacknowledged frame, in order, after the server drops the connection', async () => {
    // The first two connections vanish after 300 frames, acking all but the last 3.
    const server = await startFakeAckServer((i) => (i < 2 ? { dropAfter: 300 } : {}));
    cleanups.push(server.close);
    const p = producer({ port: server.port, slabBytes: 4096 });
    await p.connect();
    const total = 1000;
    for (let i = 0; i < total; i++) if (!p.send(frame(i))) await p.drain();
    await p.flush();
    // No frame lost: the union of what arrived covers every sequence.
    const seen = new Set(server.all().map((f) => f.sequence));
    expect(seen.size).toBe(total);
    // Each new connection starts with the oldest unacknowledged frame and goes on in order.
    const [first, second, third] = server.connections;
    expect(first.frames.length).toBe(300);
    expect(second.frames[0].sequence).toBe(297);
    expect(third.frames[0].sequence).toBe(second.frames[0].sequence + 297);
    for (const c of server.connections) {
      c.frames.forEach((f, k) => k > 0 && expect(f.sequence).toBe(c.frames[k - 1].sequence + 1));
    }
    // Duplicates are only the unacknowledged frames the server had seen: 3 per drop. `resent`
    // also counts frames written on a dropped connection that the server never read.
    const duplicates = server.all().length - total;
    expect(duplicates).toBe(6);
    expect(p.stats.resent).toBeGreaterThanOrEqual(duplicates);
    expect(p.stats.acked).toBe(total);
  });

  it("surfaces ACK + FINAL as 'final' with the reason, and resends on the next connection", async () => {
    const server = await startFakeAckServer(() => ({ autoAck: false }));
    cleanups.push(server.close);
    const p = producer({ port: server.port });
    await p.connect();
    for (let i = 0; i < 20; i++) p.send(frame(i));
    await server.until(() => server.all().length === 20);
    const final = new Promise<{ reason: string; committed: number }>((resolve) => p.once('final', resolve));
    const reconnected = new Promise<void>((resolve) => p.once('connect', () => resolve()));
    const conn = server.connections[0];
    conn.ack(12, 'draining');
    conn.socket.end();
    await expect(final).resolves.toEqual({ reason: 'draining', committed: 12 });
    await reconnected;
    await server.until(() => server.connections[1]?.frames.length === 8);
    expect(server.connections[1].frames.map((f) => f.sequence)).toEqual([12, 13, 14, 15, 16, 17, 18, 19]);
    server.connections[1].ack(8);
    await p.flush();
    expect(p.stats).toEqual({ sent: 20, acked: 20, resent: 8 });
  });

  it('drops a connection whose server acknowledges more than was sent, and resends', async () => {
    const server = await startFakeAckServer((i) => ({ autoAck: i > 0 }));
    cleanups.push(server.close);
    const p = producer({ port: server.port });
    await p.connect();
    for (let i = 0; i < 5; i++) p.send(frame(i));
    await server.until(() => server.all().length === 5);
    const errors: Error[] = [];
    p.on('error', (e) => errors.push(e));
    server.connections[0].ack(6);
    await p.flush();
    expect(errors[0].message).toMatch(/acknowledged 6 frames/);
    expect(server.connections[1].frames.map((f) => f.sequence)).toEqual([0, 1, 2, 3, 4]);
  });

  it('close() waits for the last ACKs, and reports unacknowledged frames as undelivered', async () => {
    const server = await startFakeAckServer(() => ({ autoAck: false }));
    cleanups.push(server.close);
    const p = producer({ port: server.port, closeTimeoutMs: 200 });
    await p.connect();
    for (let i = 0; i < 4; i++) p.send(frame(i));
    await server.until(() => server.all().length === 4);
    server.connections[0].ack(3);
    const closing = p.close();
    expect(() => p.send(frame(9))).toThrow(/closed/);
    await expect(closing).rejects.toThrow(/1 frames not acknowledged/);
  });

  it('keeps the plain path unstamped', async () => {
    const server = await startFakeAckServer(() => ({ autoAck: false }));
    cleanups.push(server.close);
    const p = new Producer({ host: '127.0.0.1', port: server.port });
    cleanups.push(() => p.close());
    await p.connect();
    p.send(frame(1));
    await server.until(() => server.all().length === 1);
    expect(server.all()[0]).toMatchObject({ flags: Flags.PRIORITY, sequence: -1 });
    expect(p.producerId).toBeNull();
  });
});
