import { once } from 'node:events';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { AckScheduler } from '../../src/ack/ack-scheduler.js';
import { AckWriter, type AckSink } from '../../src/ack/ack-writer.js';
import { parseAckPayload } from '../../src/wire/ack.js';

const TS = 1_700_000_000_000_000;

/** A writable that records copies of what it was given and completes writes only when told. */
class FakeSink implements AckSink {
  destroyed = false;
  readonly writes: Buffer[] = [];
  private readonly callbacks: ((error?: Error | null) => void)[] = [];
  write(chunk: Buffer, callback: (error?: Error | null) => void): boolean {
    this.writes.push(Buffer.from(chunk)); // the writer reuses its buffer: keep what was written
    this.callbacks.push(callback);
    return false; // never "writable": a producer that does not read
  }
  /** Bytes handed over and not yet written out. */
  get buffered(): number {
    return this.callbacks.length;
  }
  completeAll(error?: Error): void {
    for (const cb of this.callbacks.splice(0)) cb(error);
  }
  counts(): { committed: number; reason: string | null }[] {
    return this.writes.map((w) => {
      const parsed = parseAckPayload(w, 26, w.length, (w[5] & 0x40) !== 0);
      if (parsed === null) throw new Error(`not an ACK: ${w.toString('hex')}`);
      return parsed;
    });
  }
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function setup(): { sink: FakeSink; scheduler: AckScheduler; writer: AckWriter } {
  const sink = new FakeSink();
  const scheduler = new AckScheduler(() => TS);
  return { sink, scheduler, writer: new AckWriter(sink, scheduler) };
}

describe('AckWriter', () => {
  it('coalesces the commits of one turn into one ACK with the latest count', async () => {
    const { sink, scheduler, writer } = setup();
    for (let n = 1; n <= 1000; n++) writer.commit(n);
    expect(sink.writes).toHaveLength(0); // nothing written inside the turn
    await turn();
    expect(sink.counts()).toEqual([{ committed: 1000, reason: null }]);
    expect(sink.writes[0].readBigUInt64LE(16)).toBe(BigInt(TS));
    expect(scheduler.acksSent).toBe(1);
  });

  it('writes the ACK in the turn of the commit (well within 10 ms)', async () => {
    const { sink, writer } = setup();
    const start = performance.now();
    writer.commit(1);
    await turn();
    expect(sink.writes).toHaveLength(1);
    expect(performance.now() - start).toBeLessThan(10);
  });

  it('shares one scheduled run among many connections', async () => {
    const scheduler = new AckScheduler(() => TS);
    const pairs = Array.from({ length: 50 }, () => {
      const sink = new FakeSink();
      return { sink, writer: new AckWriter(sink, scheduler) };
    });
    pairs.forEach(({ writer }, i) => writer.commit(i + 1));
    expect(scheduler.pendingCount).toBe(50);
    await turn();
    expect(pairs.map(({ sink }) => sink.counts()[0].committed)).toEqual(pairs.map((_, i) => i + 1));
    expect(scheduler.pendingCount).toBe(0);
  });

  it('never repeats or lowers a count', async () => {
    const { sink, writer } = setup();
    writer.commit(5);
    await turn();
    sink.completeAll();
    writer.commit(3);
    writer.commit(5);
    await turn();
    expect(sink.writes).toHaveLength(1);
    writer.commit(9);
    await turn();
    expect(sink.counts().map((c) => c.committed)).toEqual([5, 9]);
  });

  it('keeps one ACK buffered and only the latest count while the peer never reads (100k commits)', async () => {
    const { sink, writer } = setup();
    for (let n = 1; n <= 100_000; n++) {
      writer.commit(n);
      if (n % 1000 === 0) await turn(); // many turns, each one a chance to write
    }
    expect(sink.buffered).toBe(1);
    expect(sink.counts()).toEqual([{ committed: 1000, reason: null }]);
    // The peer reads: the next ACK jumps to the latest count.
    sink.completeAll();
    await turn();
    expect(sink.counts().map((c) => c.committed)).toEqual([1000, 100_000]);
  });

  it('writes strictly increasing counts in commit order under interleaved completions', async () => {
    const { sink, writer } = setup();
    let n = 0;
    for (let round = 0; round < 200; round++) {
      for (let k = 0; k < (round % 7) + 1; k++) writer.commit(++n);
      if (round % 3 === 0) sink.completeAll();
      await turn();
    }
    sink.completeAll();
    await turn();
    const counts = sink.counts().map((c) => c.committed);
    for (let i = 1; i < counts.length; i++) expect(counts[i]).toBeGreaterThan(counts[i - 1]);
    expect(counts.at(-1)).toBe(n);
  });

  it('final() writes ACK + FINAL with the latest count behind an ACK in flight, then ignores commits', async () => {
    const { sink, scheduler, writer } = setup();
    writer.commit(4);
    await turn();
    writer.commit(7); // kept while the first ACK is in flight
    const done = writer.final('draining');
    expect(sink.counts()).toEqual([
      { committed: 4, reason: null },
      { committed: 7, reason: 'draining' },
    ]);
    writer.commit(8);
    await turn();
    sink.completeAll();
    await expect(done).resolves.toBe(true);
    await turn();
    expect(sink.writes).toHaveLength(2);
    expect(writer.final('server_error')).toBe(done);
    expect(scheduler.acksSent).toBe(2);
  });

  it('final() may repeat the last count', async () => {
    const { sink, writer } = setup();
    writer.commit(3);
    await turn();
    sink.completeAll();
    const done = writer.final('idle_timeout');
    sink.completeAll();
    await expect(done).resolves.toBe(true);
    expect(sink.counts().map((c) => c.committed)).toEqual([3, 3]);
  });

  it('final() gives up after its bound when the peer never reads, and at once on a destroyed socket', async () => {
    const { sink, writer } = setup();
    const start = performance.now();
    await expect(writer.final('crc_mismatch', 30)).resolves.toBe(false);
    expect(performance.now() - start).toBeGreaterThanOrEqual(25);
    expect(sink.counts()).toEqual([{ committed: 0, reason: 'crc_mismatch' }]);
    const gone = setup();
    gone.sink.destroyed = true;
    await expect(gone.writer.final('draining')).resolves.toBe(false);
    expect(gone.sink.writes).toHaveLength(0);
  });
});

describe('AckWriter on a real socket whose peer never reads', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => cleanups.splice(0).forEach((c) => c()));

  it('holds at most one ACK in user space however many commits come', async () => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as net.AddressInfo;
    const client = net.connect({ port, host: '127.0.0.1' });
    client.pause(); // never reads
    const [socket] = (await once(server, 'connection')) as [net.Socket];
    cleanups.push(() => {
      client.destroy();
      socket.destroy();
      server.close();
    });
    const scheduler = new AckScheduler();
    const writer = new AckWriter(socket, scheduler);
    let maxBuffered = 0;
    // Enough ACKs to fill both kernel buffers many times over if they were all written.
    for (let n = 1; n <= 100_000; n++) {
      writer.commit(n);
      if (n % 20 === 0) {
        await turn();
        maxBuffered = Math.max(maxBuffered, socket.writableLength);
      }
    }
    expect(scheduler.acksSent).toBeGreaterThan(100); // it did write while the kernel took them
    expect(maxBuffered).toBeLessThanOrEqual(34);
    expect(writer.committed).toBe(100_000);
  });
});
