/**
 * examples/batching-handler.mjs: batches fill, are written in one write
 * each, in order, and the promise onBatchEnd returns holds the read until
 * its batch is on disk; then the same module under a live server.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConnectionInfo, HandlerFactory, Packet, PacketHandler } from '../../src/handlers/types.js';
import { encodeFrame } from '../../src/wire/encode.js';
import { connect, sendAndClose, startServer, until, type LiveServer } from '../helpers/live-server.js';

const MODULE = fileURLToPath(new URL('../../examples/batching-handler.mjs', import.meta.url));
const tmpFile = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pkt-batch-')), 'out.ndjson');
const readLines = (file: string) =>
  fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);

async function create(options: Record<string, unknown>): Promise<PacketHandler> {
  const factory = ((await import(MODULE)) as { default: HandlerFactory }).default;
  return factory(options, { name: 'batch', log: pino({ level: 'silent' }), reportError: () => {}, commit: () => {}, failCommit: () => {} });
}

const conn = { id: 1 } as ConnectionInfo;
const packet = (n: number) =>
  ({ sourceId: `s${n}`, destId: 'd', timestamp: n, flags: 0, payload: Buffer.from([n]) }) as unknown as Packet;

/** Tracks whether a promise settled, without awaiting it. */
function watch(p: void | Promise<void>) {
  const state = { settled: false };
  void (p as Promise<void>).then(() => (state.settled = true));
  return state;
}
const turn = () => new Promise((r) => setTimeout(r, 20));

let live: LiveServer | null = null;
afterEach(async () => {
  await live?.stop();
  live = null;
});

describe('examples/batching-handler.mjs', () => {
  it('holds a read until the batch holding its packets is written, one write per batch, in order', async () => {
    const file = tmpFile();
    const h = await create({ path: file, batchSize: 10, flushMs: 60_000 });
    for (let i = 0; i < 9; i++) expect(h.onPacket(packet(i), conn)).toBeUndefined(); // the fast path
    const first = watch(h.onBatchEnd!(conn));
    await turn();
    expect(first.settled).toBe(false); // 9 of 10: nothing written yet, the read stays held
    expect(fs.readFileSync(file, 'utf8')).toBe('');
    h.onPacket(packet(9), conn); // fills the batch: one write
    for (let i = 10; i < 13; i++) h.onPacket(packet(i), conn);
    const second = watch(h.onBatchEnd!(conn));
    await until(() => first.settled, 5000, 'the first batch written');
    expect(readLines(file).map((l) => l.source)).toEqual(Array.from({ length: 10 }, (_, i) => `s${i}`));
    expect(second.settled).toBe(false); // 3 of 10
    await h.close!();
    expect(second.settled).toBe(true);
    const lines = readLines(file);
    expect(lines.map((l) => l.timestamp)).toEqual(Array.from({ length: 13 }, (_, i) => i));
    expect(lines[12]).toEqual({ conn: 1, source: 's12', dest: 'd', timestamp: 12, flags: 0, payload: Buffer.from([12]).toString('base64') });
  });

  it('writes a batch that does not fill after flushMs', async () => {
    const file = tmpFile();
    const h = await create({ path: file, batchSize: 1000, flushMs: 20 });
    for (let i = 0; i < 3; i++) h.onPacket(packet(i), conn);
    await h.onBatchEnd!(conn);
    expect(readLines(file)).toHaveLength(3);
    await h.close!();
  });

  it('refuses to start without options.path, saying what is missing', async () => {
    await expect(create({})).rejects.toThrow('options.path: missing');
  });

  it('runs as a module handler: every packet of two connections, in order per connection', async () => {
    const file = tmpFile();
    live = await startServer({
      handlers: [{ type: 'module', name: 'ndjson', path: MODULE, options: { path: file, batchSize: 50, flushMs: 20 } }],
    });
    const frames = (tag: string) =>
      Array.from({ length: 120 }, (_, i) => encodeFrame({ sourceId: tag, destId: 'd', payload: Buffer.from(`${tag}-${i}`), timestamp: i + 1 }));
    const [a, b] = [await connect(live.tcpPort), await connect(live.tcpPort)];
    await Promise.all([sendAndClose(a, frames('a')), sendAndClose(b, frames('b'))]);
    await live.stop(); // close() flushes the last batch
    const lines = readLines(file);
    expect(lines).toHaveLength(240);
    for (const tag of ['a', 'b']) {
      const mine = lines.filter((l) => l.source === tag);
      expect(mine.map((l) => Buffer.from(l.payload as string, 'base64').toString())).toEqual(
        Array.from({ length: 120 }, (_, i) => `${tag}-${i}`),
      );
    }
  });
});
