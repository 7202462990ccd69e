/**
 * The capture handler's commit point in ack mode, end to end through a real
 * server: an ACK never covers a frame before the sync (fsync always,
 * interval) or the write (never) that makes it true. Order is observed
 * through the capture's fs seam and the client's ACK reader, in one log.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createCaptureHandler, type CaptureHandler } from '../../src/handlers/capture-handler.js';
import { commitTrackerOf } from '../../src/handlers/commit-tracker.js';
import type { HandlerContext } from '../../src/handlers/types.js';
import { ackFrame, AckClient } from '../helpers/ack-client.js';
import { startServer, type LiveServer } from '../helpers/live-server.js';
import { loggingFs, type FsEvent } from '../sinks/capture-kit.js';

type Event = FsEvent | { op: 'ack'; count: number };

let live: LiveServer | null = null;
let handler: CaptureHandler | null = null;
let dir = '';
afterEach(async () => {
  await live?.stop();
  await handler?.close?.();
  live = handler = null;
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

/** What create-handlers.ts gives handler 0. */
const context: HandlerContext = {
  name: 'capture',
  log: pino({ level: 'silent' }),
  reportError: () => {},
  commit: (connection, count) => commitTrackerOf(connection)?.commit(0, count),
  failCommit: (connection, error) => commitTrackerOf(connection)?.fail(0, error),
};

/** The stream bytes durable at event `k`: the last write before the last sync (or, for never, the last write). */
function durableBytes(events: Event[], k: number, needsSync: boolean): number {
  let written = 0;
  let synced = 0;
  for (let i = 0; i < k; i++) {
    const e = events[i];
    if (e.op === 'write') written = e.end;
    else if (e.op === 'sync') synced = written;
  }
  return needsSync ? synced : written;
}

describe('capture commits in ack mode', () => {
  it.each(['always', 'interval', 'never'] as const)('fsync %s: no ACK precedes the write and sync that make it true', async (fsync) => {
    dir = mkdtempSync(join(tmpdir(), 'pkt-capture-acks-'));
    const events: Event[] = [];
    handler = await createCaptureHandler(
      { path: join(dir, 'cap.pkt'), fsync, fsyncIntervalMs: 40, rotateBytes: 1 << 30, keepFiles: 1 },
      context,
      { fs: loggingFs(events as FsEvent[]) }, // the fs seam logs writes and syncs; the client adds ACKs
    );
    live = await startServer({}, { handlers: [{ name: 'capture', handler }] });
    const client = await AckClient.connect(live.tcpPort);
    client.socket.on('data', () => {
      const last = client.acks[client.acks.length - 1];
      if (last !== undefined && events.at(-1)?.op !== 'ack') events.push({ op: 'ack', count: last.committed });
    });
    const frameBytes = ackFrame(0).length;
    const total = 400;
    for (let sent = 0; sent < total; sent += 40) {
      client.write(Array.from({ length: 40 }, (_, k) => ackFrame(sent + k)));
      await client.waitForCount(sent + 1);
    }
    await client.waitForCount(total);
    const acks = events.flatMap((e, k) => (e.op === 'ack' ? [{ k, count: e.count }] : []));
    expect(acks.length).toBeGreaterThan(5);
    for (const { k, count } of acks) {
      expect(count * frameBytes, `ACK ${count} at event ${k}`).toBeLessThanOrEqual(durableBytes(events, k, fsync !== 'never'));
    }
    if (fsync !== 'never') expect(events.some((e) => e.op === 'sync')).toBe(true);
    client.socket.destroy();
  });
});
