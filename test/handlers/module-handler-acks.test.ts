/**
 * The module commit API (src/handlers/types.ts: commitMode 'deferred' +
 * context.commit), through a real server built from config: a module's
 * frames are acknowledged only once it commits them, and context.failCommit
 * ends the connection with FINAL handler_error.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ackFrame, AckClient } from '../helpers/ack-client.js';
import { startServer, until, type LiveServer } from '../helpers/live-server.js';

let live: LiveServer | null = null;
afterEach(async () => {
  await live?.stop();
  live = null;
});

/** A module that commits on demand: globalThis.__pktCommit(n) commits the first n frames of the last connection. */
const MODULE = `
export default (options, context) => {
  let last = null;
  globalThis.__pktCommit = (n) => context.commit(last, n);
  globalThis.__pktFail = () => context.failCommit(last, new Error('store lost'));
  return { commitMode: 'deferred', onPacket(packet, connection) { last = connection; } };
};
`;

type Hooks = { __pktCommit: (n: number) => void; __pktFail: () => void };

async function server(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pkt-module-acks-'));
  const file = path.join(dir, 'deferred.mjs');
  fs.writeFileSync(file, MODULE);
  live = await startServer({ handlers: [{ type: 'module', name: 'deferred', path: file }] });
}

const frames = (from: number, n: number): Buffer[] => Array.from({ length: n }, (_, k) => ackFrame(from + k));

describe('module handler with commitMode deferred', () => {
  it('acknowledges only what the module committed', async () => {
    await server();
    const hooks = globalThis as unknown as Hooks;
    const client = await AckClient.connect((live as LiveServer).tcpPort);
    client.write(frames(0, 10));
    await until(() => live?.server.stats.packets === 10, 5000, 'ten frames delivered');
    hooks.__pktCommit(4);
    await client.waitForCount(4);
    // ACKs arrive in order: had any gone out before the module committed, it would come first.
    expect(client.acks.map((a) => a.committed)).toEqual([4]);
    hooks.__pktCommit(10);
    await client.waitForCount(10);
    expect(client.committed).toBe(10);
    client.socket.destroy();
  });

  it('failCommit ends the connection with FINAL handler_error at the committed count', async () => {
    await server();
    const hooks = globalThis as unknown as Hooks;
    const client = await AckClient.connect((live as LiveServer).tcpPort);
    client.write(frames(0, 6));
    await until(() => live?.server.stats.packets === 6, 5000, 'six frames delivered');
    hooks.__pktCommit(3);
    await client.waitForCount(3);
    hooks.__pktFail();
    expect(await client.waitForFinal()).toEqual({ committed: 3, reason: 'handler_error' });
    expect((live as LiveServer).server.stats.handlerErrors.get('deferred')).toBe(1);
  });
});
