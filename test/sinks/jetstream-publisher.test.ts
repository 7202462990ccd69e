/**
 * The jetstream handler's failure behaviour against a real `nats-server -js`:
 * killed and restarted mid-stream, a stream that rejects messages, a stream
 * that does not cover the subject, a frame too large, close with acks
 * outstanding. Needs nats-server on PATH (skipped with one line where it
 * is missing, a failure in CI).
 */
import net from 'node:net';
import { once } from 'node:events';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJetStreamHandler, type JetStreamOptions } from '../../src/handlers/jetstream-handler.js';
import { encodeFrame } from '../../src/wire/encode.js';
import { readStream, RecordingContext } from '../helpers/jetstream-stream.js';
import { startServer } from '../helpers/live-server.js';
import { natsServerAvailable, pauseNats, resumeNats, startNatsServer, type NatsServer } from '../helpers/nats-server.js';

const RUN = natsServerAvailable('jetstream failures', it);

let nats: NatsServer;
beforeAll(async () => {
  if (RUN) nats = await startNatsServer();
});
afterAll(async () => {
  await nats?.stop();
});

const FAST = { ackTimeoutMs: 1000, retryMinMs: 20, retryMaxMs: 300 };

function options(url: string, stream: string, over: Partial<JetStreamOptions> = {}): JetStreamOptions {
  return { servers: [url], stream, subject: `${stream.toLowerCase()}.in`, createStream: true, maxMessageBytes: 16 * 1024, maxInFlight: 8, per: 'run', ...over };
}

function frame(conn: number, i: number, size = 60 + ((i * 13) % 200)): Buffer {
  return encodeFrame({ sourceId: `c${conn}`, destId: 'd', payload: Buffer.alloc(size, (i + conn) & 0xff), timestamp: BigInt(i) });
}

async function send(port: number, frames: readonly Buffer[], beforeChunk: (i: number) => Promise<void> = async () => {}): Promise<void> {
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  socket.resume();
  const closed = once(socket, 'close');
  for (let i = 0; i < frames.length; i += 50) {
    await beforeChunk(i);
    if (!socket.write(Buffer.concat(frames.slice(i, i + 50)))) await once(socket, 'drain');
  }
  socket.end();
  await closed;
}

async function waitFor(test: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const messageOf = (e: unknown) => (e instanceof Error ? e.message : String(e));

describe.skipIf(!RUN)('jetstream handler failures', () => {
  it('loses nothing and stores nothing twice when nats-server is killed and restarted mid-stream', async () => {
    const own = await startNatsServer();
    let restarted: NatsServer | null = null;
    const context = new RecordingContext();
    const handler = createJetStreamHandler(options(own.url, 'CRASH'), context, FAST);
    await handler.ready;
    const early: number[] = [];
    context.onCommit = () => {
      if (context.total > handler.publisher.ackedFrames) early.push(context.total);
    };
    const live = await startServer({}, { handlers: [{ name: 'jetstream', handler }] });
    const connections = 6;
    const perConnection = 3000;
    const total = connections * perConnection;
    const sent = Array.from({ length: connections }, (_, c) => Array.from({ length: perConnection }, (_, i) => frame(c, i)));
    let outageMs = 0;
    const crash = (async () => {
      await context.until(() => context.total >= total / 4);
      const t0 = performance.now();
      await own.kill();
      await waitFor(() => !handler.publisher.ready);
      restarted = await startNatsServer({ port: own.port, storeDir: own.storeDir });
      await waitFor(() => handler.publisher.ready);
      outageMs = performance.now() - t0;
    })();
    try {
      await Promise.all(sent.map((frames) => send(live.tcpPort, frames)));
      await crash;
      await context.until(() => context.total === total, 60_000);
      await live.stop();
      const stored = await readStream(own.url, 'CRASH');
      const frames = stored.reduce((n, m) => n + m.frames.length, 0);
      expect(frames).toBe(total);
      expect(new Set(stored.map((m) => m.headers['Nats-Msg-Id'])).size).toBe(stored.length);
      for (let c = 0; c < connections; c++) {
        const mine = stored.filter((m) => m.frames[0].includes(Buffer.from(`c${c}\0`)));
        const offsets = mine.map((m) => Number(m.headers['Pkt-Offset']));
        const ordered = [...mine].sort((a, b) => Number(a.headers['Pkt-Offset']) - Number(b.headers['Pkt-Offset']));
        expect(Buffer.concat(ordered.map((m) => m.data)).equals(Buffer.concat(sent[c]))).toBe(true);
        expect(new Set(offsets).size).toBe(offsets.length);
      }
      console.log(
        `jetstream crash test: ${total} frames over ${connections} connections, ${stored.length} messages stored, ` +
          `outage ${outageMs.toFixed(0)} ms, republished ${handler.publisher.republished}, ` +
          `duplicates dropped by JetStream ${handler.publisher.duplicates}, errors counted ${context.errors.length}`,
      );
      expect(context.errors.length).toBeGreaterThan(0);
      expect(context.failed).toEqual([]);
      expect(early).toEqual([]);
    } finally {
      await (restarted as NatsServer | null)?.stop();
      await own.stop();
    }
  }, 90_000);

  it('acks slower than the ack timeout: the republished messages are stored once (JetStream drops the duplicates)', async () => {
    const context = new RecordingContext();
    const handler = createJetStreamHandler(options(nats.url, 'SLOWACK'), context, { ...FAST, ackTimeoutMs: 300 });
    await handler.ready;
    const live = await startServer({}, { handlers: [{ name: 'jetstream', handler }] });
    const frames = Array.from({ length: 400 }, (_, i) => frame(0, i));
    await pauseNats(nats);
    try {
      const sending = send(live.tcpPort, frames);
      // Published while the server sleeps; then the ack timeout passes and they are sent again.
      await waitFor(() => handler.publisher.inFlight > 0 && handler.publisher.republished > 0);
      resumeNats(nats);
      await sending;
      await context.until(() => context.total === 400);
    } finally {
      resumeNats(nats);
      await live.stop();
    }
    const stored = await readStream(nats.url, 'SLOWACK');
    expect(Buffer.concat(stored.map((m) => m.data)).equals(Buffer.concat(frames))).toBe(true);
    expect(handler.publisher.duplicates).toBeGreaterThan(0);
    console.log(
      `jetstream slow-ack test: 400 frames, ${stored.length} messages stored, republished ${handler.publisher.republished}, duplicates dropped by JetStream ${handler.publisher.duplicates}`,
    );
  }, 30_000);

  it('a frame larger than maxMessageBytes is a handler error naming the key and never commits; frames before it do', async () => {
    const context = new RecordingContext();
    const handler = createJetStreamHandler(options(nats.url, 'BIGFRAME', { maxMessageBytes: 4096 }), context, FAST);
    await handler.ready;
    const live = await startServer({}, { handlers: [{ name: 'jetstream', handler }] });
    const frames = [frame(0, 0), frame(0, 1), frame(0, 2, 5000), frame(0, 3)];
    await send(live.tcpPort, frames);
    await context.until(() => context.failed.length === 1);
    await waitFor(() => handler.publisher.ackedFrames === 3); // the frame after it is published all the same
    await live.stop();
    expect(context.committed.get(context.failed[0].connection)).toBe(2);
    expect(messageOf(context.failed[0].error)).toMatch(/maxMessageBytes/u);
    const stored = await readStream(nats.url, 'BIGFRAME');
    expect(Buffer.concat(stored.map((m) => m.data)).equals(Buffer.concat([frames[0], frames[1], frames[3]]))).toBe(true);
  }, 30_000);

  it('a message the stream rejects (max_msg_size lowered while running) is an error naming maxMessageBytes, not a silent drop', async () => {
    const context = new RecordingContext();
    const handler = createJetStreamHandler(options(nats.url, 'SMALLMSG'), context, FAST);
    await handler.ready;
    const nc = await connect({ servers: nats.url });
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info('SMALLMSG');
    await jsm.streams.update('SMALLMSG', { ...info.config, max_msg_size: 1000 });
    await nc.close();
    const live = await startServer({}, { handlers: [{ name: 'jetstream', handler }] });
    await send(live.tcpPort, [frame(0, 0, 3000)]);
    await context.until(() => context.failed.length === 1);
    await live.stop();
    expect(context.total).toBe(0);
    expect(messageOf(context.failed[0].error)).toMatch(/stream "SMALLMSG" rejected a message .*maxMessageBytes/u);
  }, 30_000);

  it('a stream deleted while running is created again (createStream) and the held frames are stored', async () => {
    const context = new RecordingContext();
    const handler = createJetStreamHandler(options(nats.url, 'DELETED'), context, FAST);
    await handler.ready;
    const nc = await connect({ servers: nats.url });
    await (await jetstreamManager(nc)).streams.delete('DELETED');
    await nc.close();
    const live = await startServer({}, { handlers: [{ name: 'jetstream', handler }] });
    const frames = Array.from({ length: 50 }, (_, i) => frame(0, i));
    await send(live.tcpPort, frames);
    await context.until(() => context.total === 50);
    await live.stop();
    expect(context.errors.length).toBeGreaterThan(0); // the failed publishes were counted
    const stored = await readStream(nats.url, 'DELETED');
    expect(Buffer.concat(stored.map((m) => m.data)).equals(Buffer.concat(frames))).toBe(true);
  }, 30_000);

  it('a stream whose subjects do not cover the subject: not ready, errors name the subject key', async () => {
    const nc = await connect({ servers: nats.url });
    await (await jetstreamManager(nc)).streams.add({ name: 'OTHER', subjects: ['other.>'] });
    await nc.close();
    const context = new RecordingContext();
    const handler = createJetStreamHandler(options(nats.url, 'OTHER', { subject: 'pkt.{source}' }), context, { ...FAST, where: 'handlers[2]' });
    await waitFor(() => context.errors.length > 0);
    expect(handler.isHealthy?.()).toBe(false);
    expect(messageOf(context.errors[0])).toMatch(/handlers\[2\]\.subject: "pkt\.\{source\}".*stream "OTHER"/u);
    await handler.close?.();
  });

  it('a missing stream with createStream false: not ready, the error names createStream', async () => {
    const context = new RecordingContext();
    const handler = createJetStreamHandler(options(nats.url, 'MISSING', { createStream: false }), context, { ...FAST, where: 'handlers[0]' });
    await waitFor(() => context.errors.length > 0);
    expect(handler.isHealthy?.()).toBe(false);
    expect(messageOf(context.errors[0])).toMatch(/handlers\[0\]\.createStream/u);
    await handler.close?.();
  });

  it('close() waits for outstanding acks, and reports frames still unacknowledged after its bound', async () => {
    const context = new RecordingContext();
    const handler = createJetStreamHandler(options(nats.url, 'CLOSING'), context, { ...FAST, closeTimeoutMs: 300 });
    await handler.ready;
    const live = await startServer({}, { handlers: [{ name: 'jetstream', handler }] });
    await pauseNats(nats);
    try {
      await send(live.tcpPort, Array.from({ length: 100 }, (_, i) => frame(0, i)));
      await waitFor(() => handler.publisher.inFlight > 0);
      const t0 = performance.now();
      await live.stop();
      expect(performance.now() - t0).toBeGreaterThanOrEqual(250);
      expect(context.total).toBe(0);
      // One line from the handler with what it alone knows (the server's own total goes to the server's log).
      const lines = context.logged.filter((l) => /were not acknowledged/u.test(l.msg));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ frames: 100 });
      expect(lines[0]!.msg).toMatch(/^100 frames in \d+ messages were not acknowledged by JetStream within \d+ ms of shutdown/u);
    } finally {
      resumeNats(nats);
    }

    const context2 = new RecordingContext();
    const handler2 = createJetStreamHandler(options(nats.url, 'CLOSING2'), context2, { ...FAST, closeTimeoutMs: 10_000 });
    await handler2.ready;
    const live2 = await startServer({}, { handlers: [{ name: 'jetstream', handler: handler2 }] });
    await pauseNats(nats);
    try {
      await send(live2.tcpPort, Array.from({ length: 100 }, (_, i) => frame(1, i)));
      await waitFor(() => handler2.publisher.inFlight > 0);
      const stopping = live2.stop();
      setTimeout(() => resumeNats(nats), 200);
      await stopping;
      expect(context2.total).toBe(100);
    } finally {
      resumeNats(nats);
    }
  }, 30_000);
});
