/**
 * Test plumbing for the jetstream handler: read a whole stream back with an
 * ordered consumer, split each message with the exported splitFrames, and
 * a context that records commits. Not a test file itself.
 */
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { splitFrames } from '../../src/index.js';
import type { ConnectionInfo, HandlerContext } from '../../src/handlers/types.js';
import { pino } from 'pino';

export interface StoredMessage {
  seq: number;
  subject: string;
  data: Buffer;
  headers: Record<string, string>;
  frames: Buffer[];
}

const HEADERS = ['Pkt-Frames', 'Pkt-Connection', 'Pkt-Offset', 'Pkt-Remote', 'Nats-Msg-Id'];

/** Every message of `stream`, in stream order (bounded by `timeoutMs`). */
export async function readStream(url: string, stream: string, timeoutMs = 20_000): Promise<StoredMessage[]> {
  const nc = await connect({ servers: url });
  try {
    const total = (await (await jetstreamManager(nc)).streams.info(stream)).state.messages;
    const out: StoredMessage[] = [];
    if (total === 0) return out;
    const consumer = await jetstream(nc).consumers.get(stream);
    const messages = await consumer.consume();
    const timer = setTimeout(() => void messages.close(), timeoutMs);
    for await (const m of messages) {
      const data = Buffer.from(m.data);
      const headers: Record<string, string> = {};
      for (const h of HEADERS) headers[h] = m.headers?.get(h) ?? '';
      out.push({ seq: m.seq, subject: m.subject, data, headers, frames: splitFrames(data).map((p) => Buffer.from(p.frame)) });
      if (out.length >= total) break;
    }
    clearTimeout(timer);
    await messages.close();
    return out;
  } finally {
    await nc.close();
  }
}

export interface Commit {
  connection: number;
  count: number;
}

/** A HandlerContext that records commits, failed commits and reported errors. */
export class RecordingContext implements HandlerContext {
  readonly name = 'jetstream';
  /** What the handler logged at error level, parsed. */
  readonly logged: Array<{ msg: string } & Record<string, unknown>> = [];
  readonly log = pino({ level: 'error' }, { write: (line: string) => void this.logged.push(JSON.parse(line) as { msg: string }) });
  readonly commits: Commit[] = [];
  readonly failed: Array<{ connection: number; error: unknown }> = [];
  readonly errors: unknown[] = [];
  readonly committed = new Map<number, number>();
  /** Called on every commit, after it is recorded (tests check invariants here). */
  onCommit: (c: Commit) => void = () => {};
  private waiters: Array<{ test: () => boolean; resolve: () => void }> = [];

  reportError(error: unknown): void {
    this.errors.push(error);
  }

  commit(connection: ConnectionInfo, count: number): void {
    const c = { connection: connection.id, count };
    this.commits.push(c);
    this.committed.set(connection.id, Math.max(count, this.committed.get(connection.id) ?? 0));
    this.onCommit(c);
    this.wake();
  }

  failCommit(connection: ConnectionInfo, error: unknown): void {
    this.failed.push({ connection: connection.id, error });
    this.wake();
  }

  /** Total committed over all connections. */
  get total(): number {
    let n = 0;
    for (const v of this.committed.values()) n += v;
    return n;
  }

  /** Resolves once `test()` holds (checked at every commit); rejects after `timeoutMs`. */
  until(test: () => boolean, timeoutMs = 30_000): Promise<void> {
    if (test()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`commit condition not met within ${timeoutMs} ms (committed ${this.total})`)), timeoutMs);
      this.waiters.push({ test, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }

  private wake(): void {
    this.waiters = this.waiters.filter((w) => (w.test() ? (w.resolve(), false) : true));
  }
}
