/**
 * `pkt-ingest serve` exit status after SIGTERM when a handler cannot hand
 * everything on: a forward target that accepts but never reads. The server
 * must exit 3 (not 0), with one line naming the handler and how many
 * delivered frames never reached the target; and those plus what the
 * target did get cover every delivered frame (nothing unaccounted for).
 */
import net from 'node:net';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/wire/encode.js';
import { startChild, type ChildServer } from '../helpers/child-server.js';

const FRAME = encodeFrame({ sourceId: 'exit', destId: 'three', payload: Buffer.alloc(16 * 1024, 7), timestamp: 1 });

let child: ChildServer | null = null;
let target: net.Server | null = null;
afterEach(async () => {
  if (child !== null && child.child.exitCode === null) child.child.kill('SIGKILL');
  child = null;
  target?.close();
  target = null;
});

async function metric(srv: ChildServer, series: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${srv.httpPort}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return Number(line?.slice(series.length + 1));
}

describe('pkt-ingest serve: SIGTERM with a forward target that never reads', () => {
  it('exits 3 and says how many delivered frames were never forwarded', async () => {
    // The target accepts and never reads: its receive buffer, then the server's send buffer, fill up.
    const received: Buffer[] = [];
    const targetSockets: net.Socket[] = [];
    target = net.createServer((socket) => {
      socket.pause();
      socket.on('data', (chunk: Buffer) => received.push(chunk));
      targetSockets.push(socket);
    });
    target.listen(0, '127.0.0.1');
    await once(target, 'listening');
    const targetPort = (target.address() as net.AddressInfo).port;
    child = await startChild({
      tcp: { host: '127.0.0.1', port: 0, ringBytes: 256 * 1024 },
      handlers: [{ type: 'forward', host: '127.0.0.1', port: targetPort, queueBytes: 1 << 20 }],
      shutdown: { drainTimeoutMs: 1500 },
      log: { level: 'info' },
    });
    const srv = child;
    const producer = net.connect(srv.tcpPort, '127.0.0.1');
    producer.on('error', () => {});
    // Until the server stops reading us: the target's and the server's socket buffers are full, the
    // forward holds the ring, the producer is paused, our own send buffer backs up. Bounded: 6,000 frames (96 MiB).
    for (let i = 0; i < 6000 && producer.writableLength < 4 * FRAME.length * 100; i += 100) {
      for (let k = 0; k < 100; k++) producer.write(FRAME);
      await sleep(20);
    }
    expect(producer.writableLength, 'the server stopped reading').toBeGreaterThanOrEqual(4 * FRAME.length * 100);
    expect(await metric(srv, 'pkt_ingest_backpressure_pauses_total'), 'the forward holds the ring').toBeGreaterThan(0);
    srv.child.kill('SIGTERM');
    const { code } = await srv.exited;
    producer.destroy();
    expect(code, srv.lines.slice(-5).join('\n')).toBe(3);

    const logs = srv.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const lost = logs.find((l) => l.handler === 'forward' && typeof l.unwritten === 'number');
    expect(lost?.msg).toMatch(/could not write \d+ delivered frames/);
    const unwritten = lost!.unwritten as number;
    const stopped = logs.find((l) => l.msg === 'stopped')!;
    const delivered = stopped.packets as number;
    expect(unwritten).toBeGreaterThan(0);
    expect(stopped).toMatchObject({ unwritten, unconfirmed: [], heldBytes: 0 });

    // What reached the target plus what the server reports lost covers every delivered frame.
    for (const s of targetSockets) s.resume();
    await Promise.all(targetSockets.map((s) => (s.closed ? null : once(s, 'close'))));
    const forwarded = Math.floor(Buffer.concat(received).length / FRAME.length);
    expect(forwarded).toBeLessThan(delivered);
    expect(forwarded + unwritten).toBeGreaterThanOrEqual(delivered);
    process.stdout.write(`forward target never reading, SIGTERM: exit ${code}, ${delivered} delivered, ${forwarded} reached the target, ${unwritten} reported unforwarded\n`);
  }, 60_000);
});
