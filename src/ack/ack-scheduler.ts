/**
 * One per server: batches every connection's ACK writes into one
 * setImmediate per event-loop turn (no timer per connection, none at all
 * while nothing commits).
 *
 *   commit -> writer.commit(n) --(first growth this turn)--> pending[]
 *   setImmediate (check phase, same loop iteration as the I/O that committed)
 *     -> each pending writer writes ONE ACK with its latest count
 *
 * So an ACK leaves well within docs/protocol.md's 10 ms of its commit (the same
 * turn, unless the loop itself is blocked), and all commits of a turn on
 * a connection coalesce into one ACK. The scheduler owns only the pending
 * list; writers own their counts. It holds no socket and survives drain:
 * `close()` just drops a scheduled run (the writers' FINALs write directly).
 */
export interface Flushable {
  /** Writes the writer's latest count if it may (called once per scheduled turn). */
  flushAck(): void;
}

/** Where ACK frames are counted: the server passes its IngestStats (pkt_ingest_acks_total). */
export interface AckCounter {
  acksSent: number;
}

export class AckScheduler {
  /** ACK frames written (FINAL included). */
  readonly counter: AckCounter;
  /** Wall clock in microseconds for ACK timestamps; the server passes its coarse clock. */
  readonly nowMicros: () => number;
  private pending: Flushable[] = [];
  /** The list being flushed; swapped with `pending` so a run allocates nothing. */
  private running: Flushable[] = [];
  private immediate: NodeJS.Immediate | null = null;
  private readonly run = (): void => {
    this.immediate = null;
    const list = this.pending;
    this.pending = this.running;
    this.running = list;
    for (let i = 0; i < list.length; i++) list[i].flushAck();
    list.length = 0;
  };

  constructor(nowMicros: () => number = () => Date.now() * 1000, counter: AckCounter = { acksSent: 0 }) {
    this.nowMicros = nowMicros;
    this.counter = counter;
  }

  /** ACK frames written so far. */
  get acksSent(): number {
    return this.counter.acksSent;
  }

  /** Queue `writer` for this turn's flush; the writer guarantees it is queued at most once. */
  schedule(writer: Flushable): void {
    this.pending.push(writer);
    this.immediate ??= setImmediate(this.run);
  }

  /** Writers waiting for the next run. */
  get pendingCount(): number {
    return this.pending.length;
  }

  /** Drops a scheduled run (shutdown, after every FINAL was written). */
  close(): void {
    if (this.immediate !== null) clearImmediate(this.immediate);
    this.immediate = null;
    this.pending.length = 0;
  }
}
