/**
 * Starts a real IngestServer on loopback (ports picked by the kernel) for
 * integration tests, with a recording handler, and a few socket helpers.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import pino from 'pino';
import { loadConfig } from '../../src/config/load-config.js';
import type { ConnectionInfo, OwnedPacket, Packet, PacketHandler } from '../../src/handlers/types.js';
import { IngestServer } from '../../src/server.js';

export interface LiveServer {
  server: IngestServer;
  tcpPort: number;
  httpPort: number;
  dir: string;
  stop(): Promise<void>;
}

/** A config from a partial JSON object, written to a temp file and loaded like a user's. */
export function testConfig(overrides: Record<string, unknown> = {}, dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pkt-'))) {
  const file = path.join(dir, 'config.json');
  const base = { handlers: [], log: { level: 'silent' }, tcp: { host: '127.0.0.1', port: 0 }, http: { host: '127.0.0.1', port: 0 } };
  const merged: Record<string, unknown> = { ...base, ...overrides };
  for (const key of ['tcp', 'http'] as const) {
    merged[key] = { ...base[key], ...((overrides[key] as object | undefined) ?? {}) };
  }
  fs.writeFileSync(file, JSON.stringify(merged));
  return { config: loadConfig({ configPath: file, env: {} }), dir };
}

export async function startServer(
  overrides: Record<string, unknown> = {},
  opts: {
    handlers?: Array<{ name: string; handler: PacketHandler }>;
    readMode?: 'auto' | 'data';
    preambleTimeoutMs?: number;
    handshakeTimeoutMs?: number;
  } = {},
): Promise<LiveServer> {
  const { config, dir } = testConfig(overrides);
  const { handlers, readMode, preambleTimeoutMs, handshakeTimeoutMs } = opts;
  const server = new IngestServer({ config, logger: pino({ level: 'silent' }), handlers, readMode, preambleTimeoutMs, handshakeTimeoutMs });
  const { tcpPort, httpPort } = await server.start();
  return { server, tcpPort, httpPort, dir, stop: async () => void (await server.shutdown()) };
}

/** Records an owned copy of every packet, per connection, in arrival order. */
export class Recorder implements PacketHandler {
  readonly byConnection = new Map<number, OwnedPacket[]>();
  readonly all: OwnedPacket[] = [];
  private waiters: Array<{ n: number; resolve: () => void }> = [];

  onPacket(packet: Packet, conn: ConnectionInfo): void {
    const owned = packet.copy();
    this.all.push(owned);
    let list = this.byConnection.get(conn.id);
    if (!list) this.byConnection.set(conn.id, (list = []));
    list.push(owned);
    this.waiters = this.waiters.filter((w) => (this.all.length >= w.n ? (w.resolve(), false) : true));
  }

  /** Resolves once `n` packets in total have arrived. */
  waitFor(n: number): Promise<void> {
    if (this.all.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ n, resolve }));
  }
}

export async function connect(port: number): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  return socket;
}

/** Writes, ends, and waits until the server closed its side too. */
export async function sendAndClose(socket: net.Socket, data: Buffer | Buffer[]): Promise<void> {
  const closed = once(socket, 'close');
  for (const b of Array.isArray(data) ? data : [data]) socket.write(b);
  socket.end();
  socket.resume();
  await closed;
}

/** Resolves when `predicate` holds, checking on every turn of the event loop; rejects after `ms`. */
export async function until(predicate: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

export async function httpGet(port: number, route: string): Promise<{ status: number; body: string; type: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${route}`);
  return { status: res.status, body: await res.text(), type: res.headers.get('content-type') ?? '' };
}

/** A port with nothing listening on it. */
export async function deadPort(host = '127.0.0.1'): Promise<number> {
  const server = net.createServer().listen(0, host);
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
