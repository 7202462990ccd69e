import { once } from 'node:events';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { Producer, ProducerError, type ProducerOptions } from '../../src/producer/producer.js';
import { encodeFrame, type FrameInput } from '../../src/wire/encode.js';
import { deadPort } from '../helpers/live-server.js';

const HOST = '127.0.0.1';

/** What a test server saw on one accepted connection. */
interface Received {
  socket: net.Socket;
  chunks: Buffer[];
  length: number;
  /** All bytes, once the producer sent FIN. */
  ended: Promise<Buffer>;
  /** Resolves once at least `n` bytes arrived. */
  atLeast(n: number): Promise<void>;
}

interface Sink {
  port: number;
  /** The i-th accepted connection, once it is accepted. */
  connection(i: number): Promise<Received>;
  close(): Promise<void>;
}

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

/** A plain TCP server that records every byte; `paused` leaves sockets unread until resumed. */
async function startSink(port = 0, paused = false): Promise<Sink> {
  const accepted: Received[] = [];
  const acceptWaiters: (() => void)[] = [];
  const server = net.createServer({ pauseOnConnect: true }, (socket) => {
    const dataWaiters: (() => void)[] = [];
    const conn: Received = {
      socket,
      chunks: [],
      length: 0,
      ended: new Promise((resolve) => {
        socket.on('end', () => {
          socket.end();
          resolve(Buffer.concat(conn.chunks));
        });
      }),
      atLeast: (n) =>
        new Promise((resolve) => {
          const check = (): void => (conn.length >= n ? resolve() : void dataWaiters.push(check));
          check();
        }),
    };
    socket.on('data', (chunk: Buffer) => {
      conn.chunks.push(chunk);
      conn.length += chunk.length;
      for (const waiter of dataWaiters.splice(0)) waiter();
    });
    socket.on('error', () => {});
    if (!paused) socket.resume();
    accepted.push(conn);
    for (const waiter of acceptWaiters.splice(0)) waiter();
  });
  server.listen(port, HOST);
  await once(server, 'listening');
  const sink: Sink = {
    port: (server.address() as net.AddressInfo).port,
    connection: (i) =>
      new Promise((resolve) => {
        const check = (): void => (accepted[i] ? resolve(accepted[i]) : void acceptWaiters.push(check));
        check();
      }),
    close: async () => {
      for (const conn of accepted) conn.socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  cleanups.push(sink.close);
  return sink;
}


function producer(options: Partial<ProducerOptions> & { port: number }): Producer {
  const p = new Producer({ host: HOST, ...options });
  cleanups.push(() => p.close());
  return p;
}

/** A varied frame: ids, flags, extensions, and payload sizes from empty to past one slab. */
function frame(i: number, payloadBytes: number): FrameInput {
  return {
    sourceId: `src-${i % 13}`,
    destId: i % 5 === 0 ? '' : `dst-ü-${i}`,
    payload: randomBytes(payloadBytes),
    timestamp: 1_700_000_000_000_000 + i,
    flags: i & 0xff,
    extensions: i % 11 === 0 ? [{ type: 0x80, value: Buffer.from([i & 0xff, 1, 2]) }] : undefined,
  };
}

const SIZES = [0, 1, 17, 100, 1000, 3000, 5000, 70_000];

/** The next `event` from the producer; unlike events.once, an 'error' meanwhile does not reject. */
function next(p: Producer, event: 'connect' | 'reconnecting' | 'drain' | 'close'): Promise<void> {
  return new Promise((resolve) => p.once(event, () => resolve()));
}

async function rejection(promise: Promise<unknown>): Promise<ProducerError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProducerError);
  return err as ProducerError;
}

describe('Producer', () => {
  it('delivers frames from send and sendRaw byte-exact and in order', async () => {
    const sink = await startSink();
    const p = producer({ port: sink.port, slabBytes: 4096, highWaterMark: 16 * 1024 });
    await p.connect();
    const expected: Buffer[] = [];
    for (let i = 0; i < 3000; i++) {
      const f = frame(i, SIZES[i % SIZES.length]);
      const encoded = encodeFrame(f);
      expected.push(encoded);
      const ok = i % 7 === 0 ? p.sendRaw(encoded) : p.send(f);
      if (!ok) await p.drain();
    }
    await p.close();
    const received = await (await sink.connection(0)).ended;
    expect(received.equals(Buffer.concat(expected))).toBe(true);
  });

  it('never reuses a slab region before the write holding it completed', async () => {
    // The reader is stalled, so writes stay in flight while thousands more frames are encoded.
    const sink = await startSink(0, true);
    const p = producer({ port: sink.port, slabBytes: 8192, highWaterMark: 64 * 1024, maxQueuedBytes: 64 * 1024 * 1024 });
    await p.connect();
    const expected: Buffer[] = [];
    let total = 0;
    for (let i = 0; total < 20 * 1024 * 1024; i++) {
      const f = frame(i, SIZES[i % 6]);
      expected.push(encodeFrame(f));
      total += expected[expected.length - 1].length;
      p.send(f); // ignoring false on purpose: the queue must stay correct regardless
    }
    expect(p.queuedBytes).toBeGreaterThan(0);
    const conn = await sink.connection(0);
    conn.socket.resume();
    await p.close();
    expect((await conn.ended).equals(Buffer.concat(expected))).toBe(true);
  });

  it('returns false past highWaterMark, and drain() waits for the kernel to accept everything', async () => {
    const sink = await startSink(0, true);
    const p = producer({ port: sink.port, highWaterMark: 64 * 1024, maxQueuedBytes: 64 * 1024 * 1024 });
    await p.connect();
    const small = frame(1, 16 * 1024);
    let accepted = 0;
    while (p.send(small) && accepted < 100) accepted++;
    expect(accepted).toBeGreaterThanOrEqual(3);
    expect(accepted).toBeLessThan(5);

    // 48 MiB is far more than loopback socket buffers hold while nobody reads.
    const big = encodeFrame(frame(2, 1024 * 1024 - 64));
    for (let i = 0; i < 48; i++) expect(p.sendRaw(big)).toBe(false);
    let drained = false;
    const drainEvent = next(p, 'drain');
    const drain = p.drain().then(() => {
      drained = true;
    });
    for (let i = 0; i < 5; i++) await new Promise(setImmediate);
    expect(drained).toBe(false);
    expect(p.queuedBytes).toBeGreaterThan(0);

    const conn = await sink.connection(0);
    conn.socket.resume();
    await drain;
    await drainEvent;
    expect(p.queuedBytes).toBe(0);
    await p.close();
    expect((await conn.ended).length).toBe((accepted + 1) * encodeFrame(small).length + 48 * big.length);
  });

  it('reconnects with backoff after the server restarts and sends what was queued meanwhile', async () => {
    const first = await startSink();
    const port = first.port;
    const p = producer({ port, reconnect: { minMs: 10, maxMs: 50 } });
    const errors: ProducerError[] = [];
    p.on('error', (err) => errors.push(err));
    await p.connect();

    const before = [frame(1, 100), frame(2, 5000)].map(encodeFrame);
    for (const b of before) p.sendRaw(b);
    await p.drain();
    const firstConn = await first.connection(0);
    await firstConn.atLeast(Buffer.concat(before).length);
    expect(Buffer.concat(firstConn.chunks).equals(Buffer.concat(before))).toBe(true);

    const reconnecting = next(p, 'reconnecting');
    await first.close();
    await reconnecting;
    expect(p.connected).toBe(false);
    expect(errors[0].reason).toBe('connection_lost');
    expect(errors[0].message).toContain(`${HOST}:${port}`);

    const after = Array.from({ length: 50 }, (_, i) => frame(100 + i, SIZES[i % SIZES.length]));
    for (const f of after) p.send(f);
    const reconnected = next(p, 'connect');
    const second = await startSink(port);
    await reconnected;
    await p.close();
    const received = await (await second.connection(0)).ended;
    expect(received.equals(Buffer.concat(after.map(encodeFrame)))).toBe(true);
  });

  it('close() flushes everything queued, then sends FIN', async () => {
    const sink = await startSink();
    const p = producer({ port: sink.port, maxQueuedBytes: 64 * 1024 * 1024 });
    await p.connect();
    const frames = Array.from({ length: 5000 }, (_, i) => frame(i, SIZES[i % 6]));
    for (const f of frames) p.send(f);
    const closeEvent = next(p, 'close');
    await p.close();
    await closeEvent;
    expect((await (await sink.connection(0)).ended).equals(Buffer.concat(frames.map(encodeFrame)))).toBe(true);
    expect(() => p.send(frames[0])).toThrow(/closed/);
  });

  it('bounds the queue while disconnected and says why', async () => {
    const port = await deadPort(HOST);
    const p = new Producer({ host: HOST, port, reconnect: { minMs: 5000, maxMs: 5000 }, highWaterMark: 1024, maxQueuedBytes: 64 * 1024 });
    // Handled from the start: close() below rejects it.
    const connected = rejection(p.connect());
    const f = frame(1, 1000);
    let thrown: unknown = null;
    for (let i = 0; i < 1000 && thrown === null; i++) {
      try {
        p.send(f);
      } catch (err) {
        thrown = err;
      }
    }
    expect(thrown).toBeInstanceOf(ProducerError);
    const err = thrown as ProducerError;
    expect(err.code).toBe('PKT_ERR_PRODUCER');
    expect(err.reason).toBe('queue_full');
    expect(err.message).toContain(`${HOST}:${port}`);
    expect(err.message).toMatch(/not connected/);
    expect(p.queuedBytes).toBeLessThanOrEqual(64 * 1024);

    expect((await rejection(p.close())).reason).toBe('undelivered');
    expect((await connected).reason).toBe('closed');
  });

  it('without reconnect, a refused connection rejects connect() naming host:port and the cause', async () => {
    const port = await deadPort(HOST);
    const p = producer({ port, reconnect: false });
    const err = await rejection(p.connect());
    expect(err.reason).toBe('connect_failed');
    expect(err.message).toMatch(new RegExp(`${HOST}:${port}.*ECONNREFUSED.*reconnect is disabled`));
    expect(() => p.send(frame(1, 1))).toThrow(/failed/);
  });

  it('rejects options out of range', () => {
    expect(() => new Producer({ host: HOST, port: 0 })).toThrow(/port is 0/);
    expect(() => new Producer({ host: HOST, port: 1, reconnect: { minMs: 100, maxMs: 10 } })).toThrow(/maxMs/);
    expect(() => new Producer({ host: HOST, port: 1, highWaterMark: 10, maxQueuedBytes: 5 })).toThrow(/maxQueuedBytes/);
  });
});
