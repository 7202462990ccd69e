/**
 * The jetstream handler's NATS side: one connection (the client reconnects
 * by itself), the stream check, and the messages in flight until their
 * PubAck. It owns the in-flight set; the handler owns what is not yet
 * published and the commit order.
 *
 *   down --connect + ensureStream--> ready --disconnect--> down
 *                    (retried with backoff; errors counted, named key)
 *   ready --reconnect--> every in-flight message republished, in order,
 *                        same bytes, same Nats-Msg-Id (stored once)
 *
 * A message in flight ends acked (any attempt's PubAck) or failed (the
 * stream rejected it: a JetStream API error, or larger than the server
 * takes). Timeouts and no-responders are not failures: the message is
 * republished after a backoff while connected, and at the next reconnect
 * otherwise. At close (after the handler waited for acks, bounded), what
 * is left stays unacknowledged: never committed.
 */
import { JetStreamApiError, jetstream, type JetStreamClient, type PubAck } from '@nats-io/jetstream';
import { connect, errors as natsErrors, type NatsConnection } from '@nats-io/transport-node';
import type { MessageBuffers } from './jetstream-buffers.js';
import { HEADER_ROOM, type OutMessage } from './jetstream-message.js';
import { ensureStream, JetStreamConfigError, type StreamReady, type StreamTarget } from './jetstream-stream.js';

export interface PublisherOptions extends StreamTarget {
  readonly servers: readonly string[];
  /** Message size bound, headers included (maxMessageBytes). */
  readonly maxMessageBytes: number;
  readonly maxInFlight: number;
  /** How long a publish waits for its PubAck before it is sent again. */
  readonly ackTimeoutMs?: number;
  readonly retryMinMs?: number;
  readonly retryMaxMs?: number;
  /** Where acknowledged copies go back for reuse (jetstream-buffers.ts); null: left to the GC. */
  readonly buffers?: MessageBuffers | null;
}

export interface PublisherEvents {
  /** A message was acknowledged (stored, or already stored under its id). */
  onAck(m: OutMessage): void;
  /** The stream will never take this message; `m.error` says why and names the key. */
  onFail(m: OutMessage): void;
  /** Room in the window, or the connection came (back) up: publish what waits. */
  onRoom(): void;
  /** A transient problem (outage, timeout, stream check): counted and logged, then retried. */
  onError(err: unknown, what: string): void;
  /** Connected and the stream checked. */
  onReady(ready: StreamReady): void;
}

export class JetStreamPublisher {
  /** Connected and the stream checked: publishes may go out. */
  ready = false;
  inFlight = 0;
  /** Largest data (frames) per message the connected server and stream take. */
  maxData: number;
  acks = 0;
  /** Frames in acknowledged messages. */
  ackedFrames = 0;
  duplicates = 0;
  republished = 0;
  private nc: NatsConnection | null = null;
  private js: JetStreamClient | null = null;
  /** In publish order (insertion order survives deletes): republished in this order. */
  private readonly flying = new Set<OutMessage>();
  private closed = false;
  private readonly ackTimeoutMs: number;
  private readonly retryMinMs: number;
  private readonly retryMaxMs: number;
  /** A stream check is running (a reconnect during one does not start a second). */
  private readying = false;

  constructor(
    private readonly opts: PublisherOptions,
    private readonly events: PublisherEvents,
  ) {
    this.maxData = opts.maxMessageBytes - HEADER_ROOM;
    this.ackTimeoutMs = opts.ackTimeoutMs ?? 5000;
    this.retryMinMs = opts.retryMinMs ?? 100;
    this.retryMaxMs = opts.retryMaxMs ?? 2000;
  }

  get canPublish(): boolean {
    return this.ready && this.inFlight < this.opts.maxInFlight;
  }

  /** Connects in the background, retrying forever (until close). */
  start(): void {
    void this.connectLoop();
  }

  private async connectLoop(): Promise<void> {
    for (let attempt = 0; !this.closed; attempt++) {
      try {
        const nc = await connect({
          servers: [...this.opts.servers],
          name: 'pkt-ingest',
          maxReconnectAttempts: -1,
          reconnectTimeWait: this.retryMinMs,
          // One stack capture per request otherwise: pure cost on the publish path.
          noAsyncTraces: true,
        });
        if (this.closed) {
          await nc.close();
          return;
        }
        this.nc = nc;
        this.js = jetstream(nc, { timeout: this.ackTimeoutMs });
        void this.watch(nc);
        await this.becomeReady(nc);
        return;
      } catch (err) {
        this.events.onError(err, 'connect');
        await delay(this.backoff(attempt));
      }
    }
  }

  /** Stream checked on every (re)connect, retried while it fails: an operator may fix the stream meanwhile. */
  private async becomeReady(nc: NatsConnection): Promise<void> {
    if (this.readying) return;
    this.readying = true;
    try {
      await this.checkStream(nc);
    } finally {
      this.readying = false;
    }
  }

  private async checkStream(nc: NatsConnection): Promise<void> {
    for (let attempt = 0; !this.closed && !nc.isClosed(); attempt++) {
      try {
        const ready = await ensureStream(nc, this.opts);
        const fits = Math.min(this.opts.maxMessageBytes, ready.maxPayload) - HEADER_ROOM;
        this.maxData = Math.max(fits, 1);
        this.ready = true;
        this.events.onReady(ready);
        this.republishAll();
        this.events.onRoom();
        return;
      } catch (err) {
        this.events.onError(err, 'stream');
        await delay(err instanceof JetStreamConfigError ? Math.max(this.retryMaxMs, 1000) : this.backoff(attempt));
      }
    }
  }

  private async watch(nc: NatsConnection): Promise<void> {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') {
        this.ready = false;
        this.events.onError(new Error(`NATS connection lost (${s.server}); holding packets, reconnecting`), 'disconnect');
      } else if (s.type === 'reconnect') {
        void this.becomeReady(nc);
      }
    }
  }

  /** Sends a copied message; the caller checked canPublish. */
  publish(m: OutMessage): void {
    m.state = 'flying';
    this.inFlight++;
    this.flying.add(m);
    this.send(m);
  }

  private send(m: OutMessage): void {
    const attempt = ++m.attempt;
    const js = this.js as JetStreamClient;
    js.publish(m.subject, m.data as Buffer, { headers: m.headers ?? m.buildHeaders(), timeout: this.ackTimeoutMs }).then(
      (ack) => this.acked(m, ack),
      (err: unknown) => this.failed(m, attempt, err),
    );
  }

  private acked(m: OutMessage, ack: PubAck): void {
    if (m.state !== 'flying') return;
    this.acks++;
    this.ackedFrames += m.frames;
    if (ack.duplicate) {
      m.duplicate = true;
      this.duplicates++;
    }
    // Only a first attempt's copy: the server acked what the client flushed, and nothing else holds it.
    if (m.attempt === 1 && m.data !== null) this.opts.buffers?.give(m.data);
    this.settle(m, 'acked');
    this.events.onAck(m);
    this.events.onRoom();
  }

  private failed(m: OutMessage, attempt: number, err: unknown): void {
    if (m.state !== 'flying' || attempt !== m.attempt) return; // acked meanwhile, or a newer attempt is out
    const permanent = this.explain(m, err);
    if (permanent !== null) {
      m.error = permanent;
      this.settle(m, 'failed');
      this.events.onFail(m);
      this.events.onRoom();
      return;
    }
    this.events.onError(err, 'publish');
    if (this.ready && noResponders(err) && this.nc !== null) {
      // Nobody answers the subject: the stream is gone (or JetStream restarting). Check (and with createStream
      // recreate) it; what is in flight is republished once it is back.
      this.ready = false;
      void this.becomeReady(this.nc);
    }
    if (!this.ready) return; // becoming ready again republishes it
    const wait = this.backoff(m.retries++);
    setTimeout(() => {
      if (m.state === 'flying' && m.attempt === attempt && this.ready) {
        this.republished++;
        this.send(m);
      }
    }, wait).unref();
  }

  /** A rejection the stream will repeat, as an error naming the key; null for transient ones. */
  private explain(m: OutMessage, err: unknown): Error | null {
    const where = this.opts.where;
    if (err instanceof JetStreamApiError) {
      const api = err.apiError();
      const size = /size|payload/iu.test(api.description ?? '');
      const key = size ? `${where}.maxMessageBytes` : `${where}.stream or ${where}.subject`;
      return new JetStreamConfigError(
        `stream "${this.opts.stream}" rejected a message of ${m.bytes} bytes on "${m.subject}": ${api.description} ` +
          `(err_code ${api.err_code}); change ${key} or the stream's settings`,
        { cause: err },
      );
    }
    if (err instanceof natsErrors.InvalidArgumentError && /max_payload/u.test(err.message)) {
      return new JetStreamConfigError(
        `a message of ${m.bytes} bytes exceeds the NATS server's max_payload (${this.nc?.info?.max_payload}); ` +
          `lower ${where}.maxMessageBytes or raise max_payload in the server's configuration`,
        { cause: err },
      );
    }
    return null;
  }

  private settle(m: OutMessage, state: 'acked' | 'failed'): void {
    m.state = state;
    m.data = null;
    this.flying.delete(m);
    this.inFlight--;
  }

  /** After a (re)connect: what was in flight may be lost with the old connection. */
  private republishAll(): void {
    for (const m of this.flying) {
      this.republished++;
      this.send(m);
    }
  }

  private backoff(attempt: number): number {
    return Math.min(this.retryMaxMs, this.retryMinMs * 2 ** Math.min(attempt, 20));
  }

  /** Closes the connection (the handler waited for acks first); returns the messages left unacknowledged. */
  async close(): Promise<OutMessage[]> {
    this.closed = true;
    this.ready = false;
    const left = [...this.flying];
    await this.nc?.close().catch(() => {});
    return left;
  }
}

/** The client's answer when no stream listens on the subject (it calls it "jetstream is not enabled"). */
function noResponders(err: unknown): boolean {
  return err instanceof Error && (err.constructor.name === 'JetStreamNotEnabled' || /no responders|not enabled/iu.test(err.message));
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
