/**
 * Connection: the glue between a socket and its FrameReader, on both read
 * paths (onread into ring regions, and 'data' events). What the reader does
 * with bytes is tested in test/frame; here: the socket pauses when the
 * reader refuses input and resumes on its onRoom, a close while frames are
 * held ends through reader.finish() (every frame delivered, then
 * closeConnection once, then the server forgets the connection), and
 * handler lifecycle errors are counted, never thrown at the socket.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ConnectionInfo, Packet, PacketHandler } from '../../src/handlers/types.js';
import { encodeFrame } from '../../src/wire/encode.js';
import { connect, sendAndClose, startServer, until, type LiveServer } from '../helpers/live-server.js';

let live: LiveServer | null = null;
afterEach(async () => {
  await live?.stop();
  live = null;
});

const frames = (n: number, size = 500): Buffer[] =>
  Array.from({ length: n }, (_, i) => encodeFrame({ sourceId: 'conn', destId: 'd', payload: Buffer.alloc(size, i & 0xff) }));

/** Holds every packet until released; records open/close calls. */
class Gate implements PacketHandler {
  readonly held: Array<() => void> = [];
  readonly got: Buffer[] = [];
  opened = 0;
  closed = 0;
  auto = false;
  open(): void {
    this.opened++;
  }
  closeConnection(): void {
    this.closed++;
  }
  onPacket(p: Packet, _conn: ConnectionInfo): void | Promise<void> {
    this.got.push(Buffer.from(p.payload));
    if (this.auto) return;
    return new Promise<void>((resolve) => this.held.push(resolve));
  }
  release(): void {
    for (const r of this.held.splice(0)) r();
  }
}

describe.each(['auto', 'data'] as const)('Connection (%s read path)', (readMode) => {
  it('pauses while handlers hold the ring and resumes when they let go', async () => {
    const gate = new Gate();
    live = await startServer({ tcp: { ringBytes: 4096 } }, { handlers: [{ name: 'gate', handler: gate }], readMode });
    const tcp = live.server.tcp!;
    const sent = frames(100);
    const socket = await connect(live.tcpPort);
    socket.on('error', () => {});
    const done = sendAndClose(socket, sent);
    await until(() => tcp.connections.size === 1 && [...tcp.connections][0].paused, 5000, 'paused');
    const conn = [...tcp.connections][0];
    expect(conn.reader.waiting).toBe(true);
    expect(gate.got.length).toBeLessThan(sent.length);
    expect(live.server.stats.backpressurePauses).toBeGreaterThan(0);
    const before = gate.got.length;
    gate.release();
    // onRoom resumed the socket: more frames arrive.
    await until(() => gate.got.length > before, 5000, 'more frames after the release');
    gate.auto = true;
    gate.release();
    for (let i = 0; i < 1000 && gate.got.length < sent.length; i++) {
      gate.release();
      await new Promise((r) => setImmediate(r));
    }
    await done;
    await until(() => tcp.connections.size === 0, 5000, 'closed');
    expect(gate.got.length).toBe(sent.length);
    expect(gate.got.every((p, i) => p[0] === (i & 0xff))).toBe(true);
  });

  it('delivers every frame received before the close, then closes the handlers once, then is forgotten', async () => {
    const gate = new Gate();
    live = await startServer({ tcp: { ringBytes: 4096 } }, { handlers: [{ name: 'gate', handler: gate }], readMode });
    const tcp = live.server.tcp!;
    const sent = frames(30);
    const socket = await connect(live.tcpPort);
    // The producer sends everything and closes; frames wait in the ring and the
    // reader's backlog. (On the onread path a paused socket sees the FIN only
    // once it reads again, so the close completes as frames are released.)
    const done = sendAndClose(socket, sent);
    await until(() => gate.held.length > 0, 5000, 'frames held');
    expect(gate.opened).toBe(1);
    for (let i = 0; i < 1000 && tcp.connections.size > 0; i++) {
      gate.release();
      await new Promise((r) => setImmediate(r));
    }
    await until(() => tcp.connections.size === 0, 5000, 'forgotten');
    await done;
    gate.release();
    expect(gate.got.length).toBe(sent.length);
    expect(gate.closed).toBe(1);
    expect(live.server.stats.frameErrors.truncated).toBe(0);
    await until(() => live!.server.stats.ringBytes === 0, 5000, 'ring bytes released');
    expect(tcp.pool.inUse).toBe(0);
  });

  it('counts a partial frame at the close as truncated, and still closes', async () => {
    live = await startServer({}, { handlers: [], readMode });
    const tcp = live.server.tcp!;
    const [whole, cut] = frames(2);
    await sendAndClose(await connect(live.tcpPort), Buffer.concat([whole, cut.subarray(0, 40)]));
    await until(() => tcp.connections.size === 0, 5000, 'closed');
    expect(live.server.stats.packets).toBe(1);
    expect(live.server.stats.frameErrors.truncated).toBe(1);
  });

  it('counts throws from open(), onPacket() and closeConnection() against the handler and keeps reading', async () => {
    let packets = 0;
    const bad: PacketHandler = {
      open() {
        throw new Error('open boom');
      },
      onPacket() {
        packets++;
        if (packets % 2 === 0) throw new Error('packet boom');
      },
      closeConnection() {
        throw new Error('close boom');
      },
    };
    live = await startServer({}, { handlers: [{ name: 'bad', handler: bad }], readMode });
    const tcp = live.server.tcp!;
    await sendAndClose(await connect(live.tcpPort), frames(10));
    await until(() => tcp.connections.size === 0, 5000, 'closed');
    expect(packets).toBe(10);
    // open + 5 packets + closeConnection
    expect(live.server.stats.handlerErrors.get('bad')).toBe(7);
  });
});

describe('the read budget', () => {
  it('belongs to each server: two servers in one process do not share it', async () => {
    live = await startServer({}, { handlers: [] });
    const other = await startServer({}, { handlers: [] });
    try {
      expect(live.server.tcp!.readBudget).not.toBe(other.server.tcp!.readBudget);
    } finally {
      await other.stop();
    }
  });
});
