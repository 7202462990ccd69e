import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createForwardHandler, type ForwardHandler } from '../../src/handlers/forward-handler.js';
import type { ConnectionInfo, Packet } from '../../src/handlers/types.js';
import { Flags } from '../../src/wire/constants.js';
import { startFakeAckServer } from '../helpers/fake-ack-server.js';
import { Driver, connectionInfo, frames, silent } from './drive.js';

/** Polls `test` every few ms (bounded): for callbacks with no event to await. */
async function until(test: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await delay(2);
  }
}

/** A loopback target that collects what each of its connections receives. */
class Target {
  readonly server: Server;
  readonly sockets: Socket[] = [];
  readonly chunks: Buffer[][] = [];
  /** Bytes received, over all connections and per connection. */
  bytes = 0;
  readonly bytesOn: number[] = [];
  private waiters: Array<{ bytes: number; on: number; resolve: () => void }> = [];

  constructor(options: { pauseFirst?: boolean } = {}) {
    this.server = createServer((socket) => {
      const index = this.sockets.push(socket) - 1;
      const chunks: Buffer[] = [];
      this.chunks.push(chunks);
      this.bytesOn.push(0);
      if (options.pauseFirst && index === 0) socket.pause();
      socket.on('data', (chunk) => {
        chunks.push(chunk);
        this.bytes += chunk.length;
        this.bytesOn[index] += chunk.length;
        this.waiters = this.waiters.filter((w) => (this.count(w.on) >= w.bytes ? (w.resolve(), false) : true));
      });
      socket.on('error', () => {});
    });
  }

  /** Everything connection `i` received. */
  received(i = 0): Buffer {
    return Buffer.concat(this.chunks[i] ?? []);
  }

  async listen(port = 0): Promise<number> {
    this.server.listen(port, '127.0.0.1');
    await once(this.server, 'listening');
    return (this.server.address() as AddressInfo).port;
  }

  private count(on: number): number {
    return on < 0 ? this.bytes : (this.bytesOn[on] ?? 0);
  }

  /** Resolves once `bytes` bytes arrived, over all connections or on connection `on`. */
  receivedAtLeast(bytes: number, on = -1): Promise<void> {
    if (this.count(on) >= bytes) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ bytes, on, resolve }));
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

let handler: ForwardHandler | null = null;
let target: Target | null = null;
let cleanupFake: (() => Promise<void>) | null = null;
afterEach(async () => {
  await handler?.close?.();
  await target?.close();
  await cleanupFake?.();
  handler = null;
  target = null;
  cleanupFake = null;
});

function build(port: number, over: { closeTimeoutMs?: number } = {}): ForwardHandler {
  handler = createForwardHandler(
    { host: '127.0.0.1', port, queueBytes: 1 << 20, reconnectMinMs: 5, reconnectMaxMs: 40, ...over },
    { name: 'forward', log: silent, reportError: () => {}, commit: () => {}, failCommit: () => {} },
  );
  return handler;
}

function connected(h: ForwardHandler): Promise<void> {
  if (h.connection.connected) return Promise.resolve();
  return new Promise((resolve) => {
    const before = h.connection.onUp;
    h.connection.onUp = () => {
      before?.();
      resolve();
    };
  });
}

/** Resolves after `n` more failed connection attempts. */
function failedAttempts(h: ForwardHandler, n: number): Promise<void> {
  return new Promise((resolve) => {
    const before = h.connection.onDown;
    let seen = 0;
    h.connection.onDown = (...args) => {
      before?.(...args);
      if (++seen === n) resolve();
    };
  });
}

/** A port nobody listens on (for a moment). */
async function freePort(): Promise<number> {
  const t = new Target();
  const port = await t.listen();
  await t.close();
  return port;
}

function track(promise: Promise<void>): { settled: boolean } {
  const state = { settled: false };
  void promise.then(
    () => (state.settled = true),
    () => (state.settled = true),
  );
  return state;
}

describe('forward handler', () => {
  it('relays frames byte-exact, in order', async () => {
    target = new Target();
    const h = build(await target.listen());
    await connected(h);
    expect(h.isHealthy?.()).toBe(true);
    const driver = new Driver(h, connectionInfo(1));
    const stream = Buffer.concat(frames(80));
    for (let at = 0; at < stream.length; at += 977) await driver.read(stream.subarray(at, at + 977));
    await target.receivedAtLeast(stream.length);
    expect(target.received().equals(stream)).toBe(true);
    expect(h.connection.bytesSent).toBe(stream.length);
  });

  it('holds batches while the target is down, reconnects, then delivers them in order', async () => {
    const port = await freePort();
    const h = build(port);
    expect(h.isHealthy?.()).toBe(false);
    const driver = new Driver(h, connectionInfo(1));
    const first = Buffer.concat(frames(5));
    const second = Buffer.concat(frames(5, 5));
    const retried = failedAttempts(h, 2);
    const firstDone = track(driver.read(first));
    const secondDone = driver.read(second);
    await retried;
    expect(firstDone.settled).toBe(false);
    expect(h.isHealthy?.()).toBe(false);
    expect(h.connection.queuedBytes).toBe(first.length + second.length);

    target = new Target();
    await target.listen(port);
    await secondDone;
    expect(firstDone.settled).toBe(true);
    expect(h.isHealthy?.()).toBe(true);
    await target.receivedAtLeast(first.length + second.length);
    expect(target.received().equals(Buffer.concat([first, second]))).toBe(true);
  });

  it('resends unconfirmed batches whole on a new connection when the connection dies (at-least-once)', async () => {
    // The first connection never reads: batches pile up until the kernel buffers are full and a
    // write stays unconfirmed. No event says "the kernel is full", hence the bounded wait.
    target = new Target({ pauseFirst: true });
    const h = build(await target.listen());
    await connected(h);
    const driver = new Driver(h, connectionInfo(1), 512 << 20);
    const batch = (i: number) => Buffer.concat(frames(4, i * 4, { payload: Buffer.alloc(1 << 20, i) }));
    const stalled = (p: Promise<void>) => Promise.race([p.then(() => false), delay(500).then(() => true)]);
    const batches: Buffer[] = [];
    const sent: Promise<void>[] = [];
    do {
      batches.push(batch(batches.length));
      sent.push(driver.read(batches[batches.length - 1]));
    } while (batches.length < 100 && !(await stalled(sent[sent.length - 1])));
    const down = failedAttempts(h, 1);
    target.sockets[0].destroy();
    await down;
    await Promise.all(sent);
    const resent = h.connection.resent;
    expect(resent).toBeGreaterThan(0);
    // The new connection got exactly the unconfirmed batches, whole, in order.
    const unconfirmed = Buffer.concat(batches.slice(batches.length - resent));
    await target.receivedAtLeast(unconfirmed.length, 1);
    expect(target.received(1).equals(Buffer.concat(batches.slice(batches.length - resent)))).toBe(true);
  });

  it('close() gives up after its timeout while down and rejects what is left, with a clear error', async () => {
    const h = build(await freePort(), { closeTimeoutMs: 50 });
    const driver = new Driver(h, connectionInfo(1));
    const held = driver.read(Buffer.concat(frames(3)));
    await h.close?.();
    handler = null;
    await expect(held).rejects.toThrow(/undelivered/);
    expect(String(driver.holdErrors[0])).toMatch(/forward to 127\.0\.0\.1:\d+: closed with 1 batches \(\d+ bytes\) undelivered/);
  });
});

describe('forward handler with acks', () => {
  /** Hands `list` to the handler as one read from one ring buffer, counting connection.packets like the server. */
  function deliver(h: ForwardHandler, conn: { packets: number } & ConnectionInfo, list: Buffer[]): { ring: Buffer; held: Promise<void> } {
    const ring = Buffer.concat(list);
    let at = 0;
    for (const f of list) {
      conn.packets++;
      h.onPacket({ buffer: ring, frameStart: at, frameLength: f.length } as Packet, conn);
      at += f.length;
    }
    return { ring, held: h.onBatchEnd?.(conn) ?? Promise.resolve() };
  }

  function buildAcked(port: number, commits: number[]): ForwardHandler {
    handler = createForwardHandler(
      { host: '127.0.0.1', port, queueBytes: 1 << 20, reconnectMinMs: 5, reconnectMaxMs: 40, acks: true },
      { name: 'forward', log: silent, reportError: () => {}, commit: (_c, n) => commits.push(n), failCommit: () => {} },
    );
    return handler;
  }

  it('sets ACK_REQUEST on relayed frames (only that byte), never in the ring, and commits on the target ACK', async () => {
    const fake = await startFakeAckServer(() => ({ autoAck: false }));
    cleanupFake = fake.close;
    const commits: number[] = [];
    const h = buildAcked(fake.port, commits);
    expect(h.commitMode).toBe('deferred');
    await connected(h);
    const conn = { ...connectionInfo(1), packets: 0 };
    const list = frames(10);
    const { ring, held } = deliver(h, conn, list);
    await held; // written: the ring bytes are released...
    expect(ring.equals(Buffer.concat(list))).toBe(true); // ...and were never patched
    await fake.until(() => fake.all().length === 10);
    expect(commits).toEqual([]); // ...but nothing commits before the target acknowledges
    fake.all().forEach((f, i) => {
      const expected = Buffer.from(list[i]);
      expected[5] |= Flags.ACK_REQUEST;
      expect(f.bytes.equals(expected)).toBe(true);
    });
    fake.connections[0].ack(4);
    await until(() => commits.length === 1);
    fake.connections[0].ack(10);
    await until(() => commits.length === 2);
    expect(commits).toEqual([4, 10]);
  });

  it('resends unacknowledged frames from its own copy after the target drops the connection mid-stream', async () => {
    // The first target connection vanishes after 25 frames, acknowledging 22 of them.
    const fake = await startFakeAckServer((i) => (i === 0 ? { dropAfter: 25 } : {}));
    cleanupFake = fake.close;
    const commits: number[] = [];
    const h = buildAcked(fake.port, commits);
    await connected(h);
    const conn = { ...connectionInfo(2), packets: 0 };
    const all = frames(60);
    for (let k = 0; k < 60; k += 10) {
      const { ring, held } = deliver(h, conn, all.slice(k, k + 10));
      await held;
      ring.fill(0xee); // the server reuses ring bytes once released: a resend must not read them
    }
    await until(() => commits.at(-1) === 60);
    for (let i = 1; i < commits.length; i++) expect(commits[i]).toBeGreaterThan(commits[i - 1]);
    const received = fake.all().map((f) => {
      const plain = Buffer.from(f.bytes);
      plain[5] &= ~Flags.ACK_REQUEST;
      return plain.toString('hex');
    });
    const expected = all.map((f) => f.toString('hex'));
    expect(new Set(received)).toEqual(new Set(expected)); // nothing lost, nothing corrupt
    expect(fake.connections[1].frames[0].bytes.subarray(24).equals(all[22].subarray(24))).toBe(true); // resumes at the first unacked
    expect(received.length - expected.length).toBe(3); // duplicates: only the 3 unacknowledged frames
    expect(h.connection.acks.framesAcked).toBe(60); // 22 on the first connection, 38 on the second
  });
});
