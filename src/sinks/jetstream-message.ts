/**
 * One JetStream message of the jetstream handler: whole frames of one
 * connection, in order, on one subject.
 *
 *   building  frames added as runs of ring views (offsets only, no copy);
 *             the batches holding them keep their promises pending
 *   copied    copyOut(): one Buffer of exactly the frames' bytes, so the
 *             ring is released right away and a republish after a NATS
 *             outage sends the same bytes under the same Nats-Msg-Id
 *   acked / failed
 *
 * Why a copy: @nats-io's publish() queues the payload and concatenates every
 * queued command into one buffer at flush (DataBuffer.pack), so it copies
 * anyway, and a republish needs the bytes long after the ring moved on.
 * One copy of ours per message, never per frame.
 *
 * A `failed` message with no bytes marks a frame that cannot be published
 * (larger than maxMessageBytes): it takes its place in the connection's
 * order so the commits before it still happen, and none after it.
 */
import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';
import type { ConnectionInfo, Packet } from '../handlers/types.js';
import type { MessageBuffers } from './jetstream-buffers.js';

export type MessageState = 'building' | 'flying' | 'acked' | 'failed';

/** Upper bound of the headers we add (ids and numbers are short): maxMessageBytes counts them. */
export const HEADER_ROOM = 512;

export class OutMessage {
  state: MessageState = 'building';
  /** Frames and their bytes. */
  frames = 0;
  bytes = 0;
  /** Stream offset of the first frame. */
  offset = -1;
  /** connection.packets after the last frame: the count to commit on ack. */
  lastCount = 0;
  /** The copied bytes while in flight. */
  data: Buffer | null = null;
  headers: MsgHdrs | null = null;
  /** Publish attempts; a reply to an older attempt is still an ack, a failure of one is ignored. */
  attempt = 0;
  retries = 0;
  error: Error | null = null;
  /** Whether the server said it already had this id (a republish that had been stored). */
  duplicate = false;
  // Runs of contiguous frames as views: [buffer, start, end] per run.
  private runs: Array<Buffer | number> = [];
  private runBuffer: Buffer | null = null;
  private runStart = 0;
  private runEnd = 0;

  constructor(
    readonly connection: ConnectionInfo,
    /** Per-connection sequence, from 0: messages publish in this order. */
    readonly seq: number,
    readonly subject: string,
    public msgId: string,
  ) {}

  /** Adds the packet's frame (offsets only: no allocation unless a new run starts). */
  add(packet: Packet, count: number): void {
    const buffer = packet.buffer;
    const start = packet.frameStart;
    const length = packet.frameLength;
    if (this.frames === 0) this.offset = packet.offset;
    this.frames++;
    this.bytes += length;
    this.lastCount = count;
    if (buffer === this.runBuffer && start === this.runEnd) {
      this.runEnd += length;
      return;
    }
    if (this.runBuffer !== null) this.runs.push(this.runBuffer, this.runStart, this.runEnd);
    this.runBuffer = buffer;
    this.runStart = start;
    this.runEnd = start + length;
  }

  /** Marks a frame that will never be published (see the module header). */
  static failedFrame(connection: ConnectionInfo, seq: number, packet: Packet, count: number, error: Error): OutMessage {
    const m = new OutMessage(connection, seq, '', '');
    m.frames = 1;
    m.offset = packet.offset;
    m.lastCount = count;
    m.state = 'failed';
    m.error = error;
    return m;
  }

  /** One Buffer of every frame, byte-exact; the ring views are dropped (their batches may settle). */
  copyOut(buffers: MessageBuffers | null = null): Buffer {
    const data = buffers === null ? Buffer.allocUnsafe(this.bytes) : buffers.take(this.bytes);
    let at = 0;
    const runs = this.runs;
    for (let i = 0; i < runs.length; i += 3) {
      const buffer = runs[i] as Buffer;
      at += buffer.copy(data, at, runs[i + 1] as number, runs[i + 2] as number);
    }
    if (this.runBuffer !== null) at += this.runBuffer.copy(data, at, this.runStart, this.runEnd);
    this.runs = [];
    this.runBuffer = null;
    this.data = data;
    return data;
  }

  /** The Pkt-* headers and Nats-Msg-Id (docs/jetstream.md, What is stored), built once: republishes reuse them. */
  buildHeaders(): MsgHdrs {
    const h = natsHeaders();
    const c = this.connection;
    h.set('Pkt-Frames', String(this.frames));
    h.set('Pkt-Connection', String(c.id));
    h.set('Pkt-Offset', String(this.offset));
    h.set('Pkt-Remote', c.remoteAddress.includes(':') ? `[${c.remoteAddress}]:${c.remotePort}` : `${c.remoteAddress}:${c.remotePort}`);
    h.set('Nats-Msg-Id', this.msgId);
    this.headers = h;
    return h;
  }
}
