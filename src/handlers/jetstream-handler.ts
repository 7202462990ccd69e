/**
 * The `jetstream` handler (docs/jetstream.md): frames into a NATS JetStream
 * stream, many whole frames per message, committed when the PubAck says the
 * stream stored them (commitMode 'deferred').
 *
 *   onPacket     frame -> its connection's open message (views, no copy)
 *   onBatchEnd   a window slot free and nobody waiting: copy out, publish,
 *                return nothing (the ring is free at once). Otherwise the
 *                batch's promise waits until its frames are copied out, so
 *                rings fill and producers pause while NATS is slow or down;
 *                meanwhile the open message keeps growing (up to maxData):
 *                the slower the acks, the bigger the messages.
 *   slot frees   connections take turns (round robin), one message each
 *   PubAck       commits, in each connection's message order
 *
 * At close: every open message is cut and published, acks are awaited up
 * to closeTimeoutMs; frames left unacknowledged are logged and counted,
 * never committed. See sinks/jetstream-* for the pieces.
 */
import { randomBytes } from 'node:crypto';
import type { JetStreamHandlerConfig } from '../config/schema.js';
import { RateLimitedLog } from '../log/rate-limited-log.js';
import { ConnBatches, type BatchRules } from '../sinks/jetstream-batcher.js';
import { MessageBuffers } from '../sinks/jetstream-buffers.js';
import type { OutMessage } from '../sinks/jetstream-message.js';
import { JetStreamPublisher } from '../sinks/jetstream-publisher.js';
import { JetStreamConfigError } from '../sinks/jetstream-stream.js';
import { SubjectTemplate } from '../sinks/jetstream-subject.js';
import type { ConnectionInfo, HandlerContext, Packet, PacketHandler } from './types.js';

export type JetStreamOptions = Pick<
  JetStreamHandlerConfig,
  'servers' | 'stream' | 'subject' | 'createStream' | 'maxMessageBytes' | 'maxInFlight' | 'per'
>;

export interface JetStreamDeps {
  /** Names the configuration in errors, e.g. `handlers[0]`. */
  readonly where?: string;
  readonly ackTimeoutMs?: number;
  readonly retryMinMs?: number;
  readonly retryMaxMs?: number;
  /** How long close() waits for outstanding acks. */
  readonly closeTimeoutMs?: number;
  /** Reuse acknowledged message copies (default true; false measures the difference). */
  readonly reuseBuffers?: boolean;
}

export interface JetStreamHandler extends PacketHandler {
  readonly publisher: JetStreamPublisher;
  /** Resolves once connected and the stream is checked (tests, embedders). */
  readonly ready: Promise<void>;
}

export function createJetStreamHandler(config: JetStreamOptions, context: HandlerContext, deps: JetStreamDeps = {}): JetStreamHandler {
  const where = deps.where ?? `handler "${context.name}"`;
  const log = context.log.child({ stream: config.stream });
  const rateLog = new RateLimitedLog();
  const byConnection = new Map<ConnectionInfo, ConnBatches>();
  // Connections with messages waiting for a window slot, served in turn.
  const turns: ConnBatches[] = [];
  let last: ConnBatches | null = null;
  let closing = false;
  let wakeClose: (() => void) | null = null;
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => (markReady = resolve));

  const rules: BatchRules = {
    subject: new SubjectTemplate(config.subject),
    perFrame: config.per === 'frame',
    instanceId: randomBytes(8).toString('hex'),
    where,
    maxData: () => publisher.maxData,
  };

  const buffers = deps.reuseBuffers === false ? null : new MessageBuffers();
  const publisher = new JetStreamPublisher(
    { ...config, ...deps, where, subject: rules.subject, buffers },
    {
      onAck: (m) => settled(m),
      onFail: (m) => settled(m),
      onRoom: () => pump(),
      onError(err, what) {
        context.reportError(err);
        rateLog.warn(log, `jetstream:${what}`, { err, what }, explainTransient(what));
      },
      onReady(r) {
        const fits = r.maxPayload < config.maxMessageBytes;
        log.info({ created: r.created, subjects: r.info.config.subjects, maxData: publisher.maxData }, 'jetstream ready');
        if (fits) {
          log.warn(
            { maxMessageBytes: config.maxMessageBytes, serverMax: r.maxPayload },
            `${where}.maxMessageBytes is above what the server or stream takes (max_payload / max_msg_size): messages are capped at ${r.maxPayload} bytes; lower maxMessageBytes to silence this`,
          );
        }
        markReady();
      },
    },
  );
  publisher.start();

  function batchesOf(connection: ConnectionInfo): ConnBatches {
    if (last !== null && last.connection === connection) return last;
    let b = byConnection.get(connection);
    if (b === undefined) byConnection.set(connection, (b = new ConnBatches(connection, rules)));
    return (last = b);
  }

  function schedule(b: ConnBatches): void {
    if (b.scheduled) return;
    b.scheduled = true;
    turns.push(b);
  }

  /** Publishes b's next message (markers of unpublishable frames go straight to `sent`); false if it had none. */
  function publishNext(b: ConnBatches): boolean {
    for (;;) {
      const m = b.take();
      if (m === null) return false;
      b.sent.push(m);
      if (m.state === 'building' && m.bytes > publisher.maxData) {
        m.state = 'failed';
        m.error = new JetStreamConfigError(
          `a message of ${m.bytes} bytes was built before the server said it takes at most ${publisher.maxData}: not published; lower ${where}.maxMessageBytes`,
        );
      }
      if (m.state === 'failed') {
        b.release(m.seq);
        settle(b);
        continue;
      }
      m.copyOut(buffers);
      b.release(m.seq);
      publisher.publish(m);
      return true;
    }
  }

  /** Gives free window slots to waiting connections, one message per turn. */
  function pump(): void {
    while (turns.length > 0 && publisher.canPublish) {
      const b = turns.shift() as ConnBatches;
      b.scheduled = false;
      if (publishNext(b) && (b.queue.length > 0 || b.open !== null)) schedule(b);
    }
    if (closing) checkClosed();
  }

  function settled(m: OutMessage): void {
    const b = byConnection.get(m.connection);
    if (b !== undefined) settle(b);
    if (closing) checkClosed();
  }

  /** Commits (or fails) what is settled at the head of b's message order. */
  function settle(b: ConnBatches): void {
    const sent = b.sent;
    let count = -1;
    while (sent.length > 0 && (sent[0].state === 'acked' || sent[0].state === 'failed')) {
      const m = sent.shift() as OutMessage;
      if (m.state === 'acked') {
        if (!b.failed) count = m.lastCount;
        continue;
      }
      rateLog.warn(log, 'jetstream:rejected', { err: m.error, connection: b.connection.id, frames: m.frames, offset: m.offset }, 'frames not published');
      if (b.failed) {
        context.reportError(m.error);
        continue;
      }
      if (count >= 0) context.commit(b.connection, count);
      count = -1;
      b.failed = true;
      context.failCommit(b.connection, m.error);
    }
    if (count >= 0) context.commit(b.connection, count);
    if (b.closed && b.pending === 0) forget(b);
  }

  function forget(b: ConnBatches): void {
    byConnection.delete(b.connection);
    if (last === b) last = null;
  }

  function checkClosed(): void {
    for (const b of byConnection.values()) if (b.pending > 0) return;
    wakeClose?.();
  }

  return {
    publisher,
    ready,
    commitMode: 'deferred',
    onPacket(packet: Packet, connection: ConnectionInfo): void {
      batchesOf(connection).add(packet, connection.packets);
    },
    onBatchEnd(connection: ConnectionInfo): Promise<void> | undefined {
      const b = batchesOf(connection);
      if (turns.length === 0) while (publisher.canPublish && publishNext(b));
      if (b.queue.length === 0 && b.open === null) return undefined;
      schedule(b);
      const seq = b.newestSeq;
      return new Promise<void>((resolve) => b.waiters.push({ seq, resolve }));
    },
    closeConnection(connection: ConnectionInfo): void {
      const b = byConnection.get(connection);
      if (b === undefined) return;
      b.closed = true;
      if (last === b) last = null;
      if (b.pending === 0) forget(b);
    },
    isHealthy: () => publisher.ready,
    async close(budgetMs?: number): Promise<{ unwritten: number }> {
      closing = true;
      for (const b of byConnection.values()) if (b.open !== null || b.queue.length > 0) schedule(b);
      const timeoutMs = budgetMs ?? deps.closeTimeoutMs ?? 10_000;
      let timer: NodeJS.Timeout | undefined;
      const done = new Promise<void>((resolve) => {
        wakeClose = resolve;
        timer = setTimeout(resolve, timeoutMs);
      });
      pump();
      await done;
      clearTimeout(timer);
      let frames = 0;
      let messages = 0;
      for (const b of byConnection.values()) {
        for (const m of [...b.sent, ...b.queue, ...(b.open ? [b.open] : [])]) {
          if (m.state === 'acked' || m.state === 'failed') continue;
          frames += m.frames;
          messages++;
        }
        b.release(Number.MAX_SAFE_INTEGER); // nothing more will publish: let the rings go
      }
      await publisher.close();
      // One line with what only this handler knows; the server adds the total
      // (close-handlers.ts) and exits 3. Not a handler error: nothing is left to retry.
      if (frames > 0) {
        log.error(
          { frames, messages, timeoutMs },
          `${frames} frames in ${messages} messages were not acknowledged by JetStream within ${timeoutMs} ms of shutdown (not committed; producers in ack mode resend them)`,
        );
      }
      return { unwritten: frames };
    },
  };
}

function explainTransient(what: string): string {
  switch (what) {
    case 'connect':
      return 'cannot connect to NATS; retrying, producers wait';
    case 'disconnect':
      return 'NATS connection lost; reconnecting, producers wait, unacknowledged messages will be republished';
    case 'stream':
      return 'JetStream stream not usable; retrying, producers wait';
    default:
      return 'JetStream publish not acknowledged; republishing with the same message id';
  }
}
