/**
 * Hostile producers against live servers on 127.0.0.1: lying lengths,
 * slowloris, connection floods, churn, resets mid-frame, and many
 * connections at once. The flood and churn servers run as child processes
 * (`pkt-ingest serve`), so the RSS and descriptor counts measured are the
 * server's own (/proc/<pid>/status VmRSS, /proc/<pid>/fd). Every loop is
 * bounded in count; no assertion depends on how loaded the machine is:
 * they are on counts and events (wall times are printed, not asserted), and
 * waits for an event give up only after a generous bound, as a hang guard.
 *
 * Tolerances (figures from a 2-core shared VM in docs/reliability.md):
 * - descriptors: back within 3 of the baseline once every client closed;
 * - RSS: a burst of 100 rejected 4 GiB headers may move it by at most
 *   16 MiB; after 50,000 connect/close cycles and 1,000 resets it may stay
 *   up to 32 MiB above the baseline (measured: +16 MiB; V8 and malloc keep
 *   pages they grew into, and a heap that grew is not handed back at once);
 * - V8 heap in use, after a forced GC in the child (SIGUSR2 hook): within
 *   4 MiB of the baseline (measured: +0.3 MiB). A leak of 100 bytes per
 *   connection would be 5 MiB here.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnectionInfo, Packet, PacketHandler } from '../../src/handlers/types.js';
import { encodeFrame } from '../../src/wire/encode.js';
import { startChild, tempDir, type ChildServer } from '../helpers/child-server.js';
import { startServer, until, type LiveServer } from '../helpers/live-server.js';

const MiB = 1024 * 1024;
const mib = (n: number): string => `${(n / MiB).toFixed(1)} MiB`;
/** See the header: what may stay above the baseline after the churn tests, GC done. */
/**
 * RSS after a burst stays above its baseline by what the allocator keeps:
 * 20 to 34 MiB after the 50,000 cycles, and not monotonic (two equal rounds
 * measured 126 then 135 MiB, then 130 after the test), while the V8 heap is
 * back at its baseline. So RSS only catches gross native leaks (64 MiB is
 * about 1.3 KB per cycle; a leaked ring per connection would be gigabytes);
 * the heap, ring-bytes and descriptor bounds are the tight leak checks.
 */
const RSS_SLACK = 64 * MiB;
const HEAP_SLACK = 4 * MiB;
const frame = (i: number, payload = 32): Buffer =>
  encodeFrame({ sourceId: 'hostile', destId: 'test', payload: Buffer.alloc(payload, i & 0xff), timestamp: i + 1 });

// ---- measuring a child server

function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) * 1024;
}

const fdCount = (pid: number): number => fs.readdirSync(`/proc/${pid}/fd`).length;

/** One sample of a Prometheus series from the child, e.g. `pkt_ingest_frame_errors_total{reason="truncated"}`. */
async function metric(srv: ChildServer, series: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${srv.httpPort}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  if (line === undefined) throw new Error(`no series ${series} in /metrics`);
  return Number(line.slice(series.length + 1));
}

/** Polls a metric until `ok(value)`; gives up after `ms` (a hang guard, not a performance bound). */
async function metricUntil(srv: ChildServer, series: string, ok: (v: number) => boolean, ms = 30_000): Promise<number> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await metric(srv, series);
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`${series} is ${v} after ${ms} ms`);
    await sleep(20);
  }
}

/**
 * Starts a child server that runs a full GC on SIGUSR2, through a hook
 * module preloaded with NODE_OPTIONS (written to the child's temp dir, not
 * part of the server), so heap figures are compared after collection.
 */
async function startChildWithGc(config: Record<string, unknown>): Promise<ChildServer> {
  const dir = tempDir();
  const hook = path.join(dir, 'gc-on-sigusr2.mjs');
  fs.writeFileSync(
    hook,
    "import v8 from 'node:v8'; import vm from 'node:vm';\n" +
      "v8.setFlagsFromString('--expose-gc'); const gc = vm.runInNewContext('gc');\n" +
      "process.on('SIGUSR2', () => { gc(); gc(); process.stdout.write('{\"msg\":\"gc done\"}\\n'); });\n",
  );
  const saved = process.env.NODE_OPTIONS;
  process.env.NODE_OPTIONS = `${saved ?? ''} --import=${pathToFileURL(hook).href}`.trim();
  try {
    return await startChild(config, dir);
  } finally {
    if (saved === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = saved;
  }
}

/** Collects garbage in the child (waits for the hook's "gc done" line), then reads its memory: RSS and V8 heap in use. */
async function memoryAfterGc(srv: ChildServer): Promise<{ rss: number; heap: number }> {
  const done = srv.lines.filter((l) => l.includes('"msg":"gc done"')).length;
  srv.child.kill('SIGUSR2');
  await until(() => srv.lines.filter((l) => l.includes('"msg":"gc done"')).length > done, 30_000, 'the child to collect garbage');
  return { rss: rssBytes(srv.child.pid as number), heap: await metric(srv, 'nodejs_heap_size_used_bytes') };
}

async function stopChild(srv: ChildServer | null): Promise<void> {
  if (srv === null || srv.child.exitCode !== null) return;
  srv.child.kill('SIGTERM');
  await srv.exited;
}

// ---- client sockets

/**
 * Connects, from `localAddress` if given (127.0.0.0/8 is all loopback: a
 * way to be several producers). Without one, connect() picks the port
 * itself and may reuse ports in TIME_WAIT (tcp_tw_reuse), which an explicit
 * bind may not: churn tests must not bind.
 */
function open(port: number, localAddress?: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress });
    s.once('error', reject);
    s.once('connect', () => {
      s.off('error', reject);
      s.on('error', () => {});
      s.resume(); // the server sends nothing; reading lets us see its FIN
      resolve(s);
    });
  });
}

const closed = (s: net.Socket): Promise<unknown> => (s.closed ? Promise.resolve() : once(s, 'close'));

/** Opens `n` connections, `parallel` at a time (the accept backlog is 511). */
async function openMany(port: number, n: number, localAddress?: string, parallel = 200): Promise<net.Socket[]> {
  const out: net.Socket[] = [];
  for (let i = 0; i < n; i += parallel) {
    out.push(...(await Promise.all(Array.from({ length: Math.min(parallel, n - i) }, () => open(port, localAddress)))));
  }
  return out;
}

describe('hostile producers against a guarded server', () => {
  let srv: ChildServer | null = null;

  beforeAll(async () => {
    srv = await startChild({
      // No idle timeout: the flood's admitted connections stay silent, and must stay admitted.
      tcp: { host: '127.0.0.1', port: 0, maxConnections: 300, maxConnectionsPerAddress: 100, idleTimeoutMs: 0 },
      handlers: [],
      log: { level: 'error' },
    });
  });
  afterAll(() => stopChild(srv));

  it('rejects 4 GiB and limit+1 payload lengths from the 12 bytes that carry them, allocating nothing', async () => {
    const s = srv as ChildServer;
    const header = (payloadLen: number): Buffer => {
      const h = frame(0).subarray(0, 12);
      h.writeUInt32LE(payloadLen, 8);
      return h;
    };
    const rssBefore = rssBytes(s.child.pid as number);
    const started = Date.now();
    const sockets = await openMany(s.tcpPort, 100);
    await Promise.all(
      sockets.map((sock, i) => {
        const done = closed(sock);
        sock.write(header(i % 2 === 0 ? 0xffffffff : MiB + 1)); // and nothing more: the server must not wait
        return done;
      }),
    );
    // No idle timeout on this server: only the length check can have closed them, from the 12 bytes alone.
    expect(await metric(s, 'pkt_ingest_frame_errors_total{reason="frame_too_large"}')).toBe(100);
    expect(await metric(s, 'pkt_ingest_ring_bytes')).toBe(0);
    const rssAfter = rssBytes(s.child.pid as number);
    process.stdout.write(`lying lengths: ${Date.now() - started} ms for 100, RSS ${mib(rssBefore)} -> ${mib(rssAfter)}\n`);
    expect(rssAfter - rssBefore).toBeLessThan(16 * MiB);
  });

  it('counts floods past the per-address and total limits by reason and keeps serving admitted producers', async () => {
    const s = srv as ChildServer;
    const rejected = async (reason: string): Promise<number> => metric(s, `pkt_ingest_connections_rejected_total{reason="${reason}"}`);
    const perAddressBefore = await rejected('per_address_limit');
    const maxBefore = await rejected('max_connections');
    await metricUntil(s, 'pkt_ingest_connections_active', (v) => v === 0);
    const fdsBefore = fdCount(s.child.pid as number);

    // 150 from one address: 100 admitted, 50 over maxConnectionsPerAddress.
    const a = await openMany(s.tcpPort, 150, '127.0.0.4');
    await metricUntil(s, 'pkt_ingest_connections_active', (v) => v === 100);
    // 100 + 80 from two more addresses (280 admitted), then 50 more: 20 admitted, 30 over maxConnections.
    const b = await openMany(s.tcpPort, 100, '127.0.0.5');
    const c = await openMany(s.tcpPort, 80, '127.0.0.6');
    await metricUntil(s, 'pkt_ingest_connections_active', (v) => v === 280);
    const d = await openMany(s.tcpPort, 50, '127.0.0.7');
    await metricUntil(s, 'pkt_ingest_connections_active', (v) => v === 300);
    // Then a burst of 1,000 more while full: every one rejected, none admitted.
    const burst = await openMany(s.tcpPort, 1000, '127.0.0.8', 250);
    await metricUntil(s, 'pkt_ingest_connections_rejected_total{reason="max_connections"}', (v) => v === maxBefore + 30 + 1000);
    expect(await rejected('per_address_limit')).toBe(perAddressBefore + 50);
    expect(await metric(s, 'pkt_ingest_connections_active')).toBe(300);

    // Admitted producers (all of b were admitted) are still served, and the HTTP side answers.
    const packetsBefore = await metric(s, 'pkt_ingest_packets_total');
    for (const sock of b.slice(0, 50)) sock.write(Buffer.concat([frame(1), frame(2)]));
    await metricUntil(s, 'pkt_ingest_packets_total', (v) => v === packetsBefore + 100);
    expect((await fetch(`http://127.0.0.1:${s.httpPort}/healthz`)).status).toBe(200);

    for (const sock of [...a, ...b, ...c, ...d, ...burst]) sock.destroy();
    await metricUntil(s, 'pkt_ingest_connections_active', (v) => v === 0);
    // Once the flood is gone a newcomer is admitted and served.
    const late = await open(s.tcpPort, '127.0.0.4');
    late.write(frame(3));
    await metricUntil(s, 'pkt_ingest_packets_total', (v) => v === packetsBefore + 101);
    late.destroy();
    await metricUntil(s, 'pkt_ingest_connections_active', (v) => v === 0);
    const fdsDeadline = Date.now() + 30_000;
    while (fdCount(s.child.pid as number) > fdsBefore + 3 && Date.now() < fdsDeadline) await sleep(20);
    expect(fdCount(s.child.pid as number)).toBeLessThanOrEqual(fdsBefore + 3);
  });
});

describe('slowloris', () => {
  let live: LiveServer | null = null;
  afterAll(() => live?.stop());

  // The idle timer restarts on every read, so a slowloris here is a producer that stalls mid-frame.
  it('closes producers that stall mid-frame after idleTimeoutMs, counts each truncated, and serves others meanwhile', async () => {
    const IDLE_MS = 600;
    const TICK_MS = 150; // the sweep's period (idleTimeoutMs / 4): idleness is measured on its coarse clock
    live = await startServer({ tcp: { idleTimeoutMs: IDLE_MS } });
    const stats = live.server.stats;
    const N = 40;
    const slow = await openMany(live.tcpPort, N, '127.0.0.2');
    const bytes = frame(1, 200);
    // One byte per 50 ms for 1.2 s, twice the idle timeout: each read restarts it.
    let lastWrite = Date.now();
    let widestGap = 0; // a loaded machine may stretch the 50 ms: measured, not assumed
    for (let k = 0; k < 24; k++) {
      for (const sock of slow) sock.write(bytes.subarray(k, k + 1));
      widestGap = Math.max(widestGap, Date.now() - lastWrite);
      lastWrite = Date.now();
      await sleep(50);
    }
    // A connection may only have been closed if some gap between its bytes reached the timeout.
    if (widestGap < IDLE_MS) expect(slow.every((sock) => !sock.closed), 'a trickle keeps a connection open').toBe(true);
    const good = await open(live.tcpPort, '127.0.0.3');
    for (let i = 0; i < 100; i++) good.write(frame(i));
    await Promise.all(slow.map(closed));
    const closeMs = Date.now() - lastWrite;
    process.stdout.write(`slowloris: ${N} closed ${closeMs} ms after their last byte\n`);
    expect(closeMs, 'closed by the idle timer, never before it').toBeGreaterThanOrEqual(IDLE_MS - TICK_MS - 50);
    await until(() => stats.frameErrors.truncated === N, 30_000, 'each counted truncated');
    await until(() => stats.packets === 100, 30_000, 'the good producer served');
    good.destroy();
  });
});

describe('connection churn against a child server', () => {
  let srv: ChildServer | null = null;
  let baseline = { rss: 0, fds: 0, heap: 0 };

  beforeAll(async () => {
    srv = await startChildWithGc({
      tcp: { host: '127.0.0.1', port: 0, maxConnections: 10_000, maxConnectionsPerAddress: 10_000 },
      handlers: [],
      log: { level: 'error' },
    });
    // Warm up (JIT, ring pool, HTTP) before the baseline.
    const warm = await openMany(srv.tcpPort, 200);
    await Promise.all(
      warm.map((sock) => {
        sock.end(frame(0));
        return closed(sock);
      }),
    );
    await metricUntil(srv, 'pkt_ingest_connections_active', (v) => v === 0);
    baseline = { ...(await memoryAfterGc(srv)), fds: fdCount(srv.child.pid as number) };
  });
  afterAll(() => stopChild(srv));

  /** Once the server has no connections left: descriptors and memory back near the baseline. */
  async function expectBackNearBaseline(s: ChildServer): Promise<void> {
    await metricUntil(s, 'pkt_ingest_connections_active', (v) => v === 0);
    const pid = s.child.pid as number;
    const deadline = Date.now() + 30_000;
    while (fdCount(pid) > baseline.fds + 3 && Date.now() < deadline) await sleep(20);
    expect(fdCount(pid), 'descriptors').toBeLessThanOrEqual(baseline.fds + 3);
    const after = await memoryAfterGc(s);
    process.stdout.write(`churn: RSS ${mib(baseline.rss)} -> ${mib(after.rss)}, heap ${mib(baseline.heap)} -> ${mib(after.heap)} after GC\n`);
    expect(after.rss - baseline.rss, 'RSS above baseline').toBeLessThan(RSS_SLACK);
    expect(after.heap - baseline.heap, 'V8 heap above baseline, after GC').toBeLessThan(HEAP_SLACK);
    expect(await metric(s, 'pkt_ingest_ring_bytes')).toBe(0);
  }

  it('survives 50,000 connect/close cycles (every other one sending a frame) and returns to baseline', async () => {
    const s = srv as ChildServer;
    const CYCLES = 50_000;
    const WORKERS = 64;
    const totalBefore = await metric(s, 'pkt_ingest_connections_total');
    const packetsBefore = await metric(s, 'pkt_ingest_packets_total');
    const started = Date.now();
    let next = 0;
    let sent = 0;
    await Promise.all(
      Array.from({ length: WORKERS }, async () => {
        while (next < CYCLES) {
          const i = next++;
          const sock = await open(s.tcpPort);
          const done = closed(sock);
          if (i % 2 === 0) {
            sock.end(frame(i));
            sent++;
          } else sock.end();
          await done;
        }
      }),
    );
    process.stdout.write(`churn: ${CYCLES} cycles in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    await metricUntil(s, 'pkt_ingest_connections_total', (v) => v === totalBefore + CYCLES);
    await metricUntil(s, 'pkt_ingest_packets_total', (v) => v === packetsBefore + sent);
    expect(await metric(s, 'pkt_ingest_frame_errors_total{reason="truncated"}')).toBe(0);
    await expectBackNearBaseline(s);
  }, 300_000); // a hang guard only: the loop is bounded by its count

  it('counts 1,000 connections reset mid-frame as truncated and returns to baseline', async () => {
    const s = srv as ChildServer;
    const truncatedBefore = await metric(s, 'pkt_ingest_frame_errors_total{reason="truncated"}');
    const BATCH = 100;
    for (let batch = 0; batch < 10; batch++) {
      const packetsBefore = await metric(s, 'pkt_ingest_packets_total');
      const sockets = await openMany(s.tcpPort, BATCH);
      // A whole frame and half of the next in one write: once the whole one is counted, the half was read too.
      for (const sock of sockets) sock.write(Buffer.concat([frame(batch), frame(batch, 500).subarray(0, 300)]));
      await metricUntil(s, 'pkt_ingest_packets_total', (v) => v === packetsBefore + BATCH);
      await Promise.all(
        sockets.map((sock) => {
          sock.resetAndDestroy();
          return closed(sock);
        }),
      );
      await metricUntil(s, 'pkt_ingest_frame_errors_total{reason="truncated"}', (v) => v === truncatedBefore + (batch + 1) * BATCH);
    }
    await expectBackNearBaseline(s);
  }, 120_000);
});

describe('fixed issues (regression tests)', () => {
  // Was open issue 3: maxPayloadBytes up to 2^32-1 let a 24-byte header make
  // the reader allocate past buffer.constants.MAX_LENGTH. Now the schema caps
  // the limit at 1 GiB, and a failed allocation counts as frame_too_large.
  it('refuses maxPayloadBytes above 1 GiB at start-up, naming the key', async () => {
    await expect(startChild({ limits: { maxPayloadBytes: 0xffffffff }, handlers: [], log: { level: 'fatal' } })).rejects.toThrow(
      /exited \(2\).*limits\.maxPayloadBytes/s,
    );
  });

  // Was open issue 4: on the 'data' read path, write() takes a whole chunk even when
  // bytes replayed after a failed oversize frame are still waiting for ring room,
  // so the socket is not paused, its FIN arrives, and end() counts them
  // `truncated` and drops them. (The onread path pauses and is not affected.)
  it("keeps the frames after a failed oversize frame when the producer closes at once ('data' read path)", async () => {
    const held: Array<() => void> = [];
    let got = 0;
    const gate: PacketHandler = {
      onPacket() {
        got++;
        return new Promise<void>((resolve) => held.push(resolve));
      },
    };
    const live = await startServer({ tcp: { ringBytes: 4096 }, onFrameError: 'resync' }, { handlers: [{ name: 'gate', handler: gate }], readMode: 'data' });
    try {
      const small = (i: number): Buffer => frame(i, 300);
      const bad = Buffer.alloc(4000, 0x41); // header_len 4000 > ring, no terminator in it: fails once complete
      frame(0).copy(bad, 0, 0, 12);
      bad.writeUInt16LE(4000, 6);
      bad.writeUInt32LE(10_000, 8);
      const sock = await open(live.tcpPort);
      sock.end(Buffer.concat([...Array.from({ length: 8 }, (_, i) => small(i)), bad, ...Array.from({ length: 20 }, (_, i) => small(100 + i))]));
      await until(() => held.length >= 8, 5000, 'first frames held');
      // The FIN arrives while frames are held: wait until the server's socket has
      // seen it (the stream is ended, or the connection already closed).
      await until(
        () => [...(live.server.tcp?.connections ?? [])].every((c) => !c.isOpen || (c.socket as unknown as { _readableState: { ended: boolean } })._readableState.ended),
        5000,
        'the FIN reached the server',
      );
      for (let i = 0; i < 200 && got < 28; i++) {
        for (const release of held.splice(0)) release();
        await sleep(5);
      }
      for (const release of held.splice(0)) release();
      await until(() => live.server.stats.connectionsActive === 0, 5000, 'closed');
      expect(got).toBe(28);
      expect(live.server.stats.frameErrors.truncated).toBe(0);
    } finally {
      await live.stop();
    }
  });
});

/** Checks each connection's frames arrive whole and in order: payload = [connection index u32, sequence u32, filler]. */
class OrderChecker implements PacketHandler {
  readonly next = new Map<number, number>();
  readonly bad: string[] = [];
  frames = 0;
  onPacket(p: Packet, _conn: ConnectionInfo): void {
    this.frames++;
    const conn = p.payload.readUInt32LE(0);
    const seq = p.payload.readUInt32LE(4);
    const want = this.next.get(conn) ?? 0;
    if (seq !== want || !p.frame.equals(orderFrame(conn, seq))) this.bad.push(`connection ${conn}: frame ${seq}, expected ${want}`);
    this.next.set(conn, seq + 1);
  }
}

function orderFrame(conn: number, seq: number): Buffer {
  const payload = Buffer.alloc(64, (conn + seq) & 0xff);
  payload.writeUInt32LE(conn, 0);
  payload.writeUInt32LE(seq, 4);
  return encodeFrame({ sourceId: `c${conn}`, destId: 'many', payload, timestamp: 1 });
}

function softFdLimit(): number {
  const m = /^Max open files\s+(\d+)/m.exec(fs.readFileSync('/proc/self/limits', 'utf8'));
  return m === null ? 1024 : Number(m[1]);
}

// Server and clients share this process: two descriptors per connection, plus slack.
const CONCURRENT = Math.min(5000, Math.floor((softFdLimit() - 500) / 2));

describe(`many connections at once (${CONCURRENT} concurrent${CONCURRENT < 5000 ? ', scaled down to the fd limit' : ''})`, () => {
  let live: LiveServer | null = null;
  afterAll(() => live?.stop());

  it(`delivers ${CONCURRENT} concurrent connections' frames, each in order and byte-exact`, async () => {
    const checker = new OrderChecker();
    live = await startServer(
      { tcp: { maxConnections: 10_000, maxConnectionsPerAddress: 1000, ringBytes: 16 * 1024 } },
      { handlers: [{ name: 'order', handler: checker }] },
    );
    const FRAMES = 10;
    // Five source addresses, 1,000 connections each: the per-address limit is not in the way.
    const sockets: net.Socket[] = [];
    for (let i = 0; i < CONCURRENT; i += 1000) {
      sockets.push(...(await openMany(live.tcpPort, Math.min(1000, CONCURRENT - i), `127.0.1.${1 + i / 1000}`, 250)));
    }
    await until(() => live!.server.stats.connectionsActive === CONCURRENT, 60_000, 'every connection admitted');
    const done = sockets.map((sock) => closed(sock));
    sockets.forEach((sock, conn) => {
      // Two writes: the second lands after the first was read, so frames straddle reads.
      const all = Buffer.concat(Array.from({ length: FRAMES }, (_, seq) => orderFrame(conn, seq)));
      sock.write(all.subarray(0, 333));
      setImmediate(() => sock.end(all.subarray(333)));
    });
    await Promise.all(done);
    await until(() => live!.server.stats.connectionsActive === 0, 60_000, 'all closed');
    expect(checker.bad.slice(0, 5)).toEqual([]);
    expect(checker.frames).toBe(CONCURRENT * FRAMES);
    expect(checker.next.size).toBe(CONCURRENT);
    expect(live.server.stats.ringBytes).toBe(0);
    expect(live.server.stats.connectionsRejected.per_address_limit + live.server.stats.connectionsRejected.max_connections).toBe(0);
  }, 180_000);
});
