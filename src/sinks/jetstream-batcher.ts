/**
 * Cuts one connection's frames into JetStream messages (docs/jetstream.md,
 * `jetstream`): whole frames, in order, one subject per message, data up to
 * the publisher's maxData, one frame per message with `per: "frame"`.
 *
 * State per connection (owned by the handler, one ConnBatches each):
 *
 *   frames --add()--> open message --cut (full, subject change, per frame)--> queue
 *   queue --take() (a window slot)--> published, in `sent` until acked/failed
 *   sent --head acked--> commit(count)      head failed --> failCommit, no more commits
 *
 * At end of stream the open message is cut like any other; at a frame error
 * nothing changes here (the reader only delivers whole valid frames); a
 * crash loses what is not acked, which was never committed.
 */
import type { ConnectionInfo, Packet } from '../handlers/types.js';
import { OutMessage } from './jetstream-message.js';
import { JetStreamConfigError } from './jetstream-stream.js';
import type { SubjectTemplate } from './jetstream-subject.js';

/** docs/protocol.md's `sequence` extension: type 5, a 16-byte producer id and a u64 LE sequence. */
const SEQUENCE_TYPE = 5;
const SEQUENCE_BYTES = 24;

export interface BatchRules {
  readonly subject: SubjectTemplate;
  readonly perFrame: boolean;
  /** Unique to this handler instance (process): run message ids never repeat across restarts. */
  readonly instanceId: string;
  /** Names the key in errors (`handlers[0]`). */
  readonly where: string;
  maxData(): number;
}

export class ConnBatches {
  open: OutMessage | null = null;
  readonly queue: OutMessage[] = [];
  readonly sent: OutMessage[] = [];
  /** Batch promises waiting until the message holding their last frame is copied out. */
  readonly waiters: Array<{ seq: number; resolve: () => void }> = [];
  /** Queued in the handler's round robin. */
  scheduled = false;
  closed = false;
  /** failCommit was called: no commit after it. */
  failed = false;
  private nextSeq = 0;
  private lastSource: string | null = null;
  private lastDest: string | null = null;
  private lastSubject = '';

  constructor(
    readonly connection: ConnectionInfo,
    private readonly rules: BatchRules,
  ) {}

  /** Frames not yet acked or failed (queued, open or in flight). */
  get pending(): number {
    return this.queue.length + this.sent.length + (this.open === null ? 0 : 1);
  }

  add(packet: Packet, count: number): void {
    const rules = this.rules;
    const subject = rules.subject.fixed ? rules.subject.template : this.subjectOf(packet);
    const length = packet.frameLength;
    if (length > rules.maxData()) {
      this.cut();
      this.queue.push(OutMessage.failedFrame(this.connection, this.nextSeq++, packet, count, this.tooLarge(packet)));
      return;
    }
    let m = this.open;
    if (m !== null && (rules.perFrame || m.subject !== subject || m.bytes + length > rules.maxData())) {
      this.cut();
      m = null;
    }
    if (m === null) {
      const seq = this.nextSeq++;
      m = this.open = new OutMessage(this.connection, seq, subject, rules.perFrame ? frameId(packet, this.runId(seq)) : this.runId(seq));
    }
    m.add(packet, count);
  }

  /** The open message goes to the queue (full, subject change, or its turn to be published). */
  cut(): void {
    if (this.open !== null) this.queue.push(this.open);
    this.open = null;
  }

  /** The next message to publish, cut from the open one if nothing is queued. */
  take(): OutMessage | null {
    if (this.queue.length === 0) this.cut();
    return this.queue.shift() ?? null;
  }

  /** The seq of the newest message (a batch that ends now waits for it). */
  get newestSeq(): number {
    return this.nextSeq - 1;
  }

  /** Resolves every batch whose frames are all copied out (messages up to `seq`). */
  release(seq: number): void {
    const w = this.waiters;
    let n = 0;
    while (n < w.length && w[n].seq <= seq) w[n++].resolve();
    if (n > 0) w.splice(0, n);
  }

  private runId(seq: number): string {
    return `${this.rules.instanceId}.${this.connection.id}.${seq}`;
  }

  private subjectOf(packet: Packet): string {
    const t = this.rules.subject;
    const source = t.usesSource ? packet.sourceId : '';
    const dest = t.usesDest ? packet.destId : '';
    // The decoder hands out the same string while a producer repeats an id: this compare is usually by reference.
    if (source !== this.lastSource || dest !== this.lastDest) {
      this.lastSource = source;
      this.lastDest = dest;
      this.lastSubject = t.expand(source, dest);
    }
    return this.lastSubject;
  }

  private tooLarge(packet: Packet): Error {
    const w = this.rules.where;
    return new JetStreamConfigError(
      `a frame of ${packet.frameLength} bytes (connection ${this.connection.id}, offset ${packet.offset}) does not fit ` +
        `${w}.maxMessageBytes (room for ${this.rules.maxData()} bytes of frames per message): it is not published; ` +
        `raise ${w}.maxMessageBytes (and the NATS server's max_payload) above the largest frame, or lower limits.maxPayloadBytes`,
    );
  }
}

/** `per: "frame"`: the producer id (hex) and sequence from the `sequence` extension, else the run id. */
function frameId(packet: Packet, fallback: string): string {
  for (const ext of packet.extensions()) {
    if (ext.type === SEQUENCE_TYPE && ext.value.length === SEQUENCE_BYTES) {
      const v = Buffer.from(ext.value.buffer, ext.value.byteOffset, SEQUENCE_BYTES);
      return `${v.toString('hex', 0, 16)}-${v.readBigUInt64LE(16)}`;
    }
  }
  return fallback;
}
