/**
 * The PROXY target through a live server: fuzz cases (proxy-fuzz.ts) sent
 * over loopback, cut into the case's writes, to an IngestServer with
 * tcp.proxyProtocol set to the case's mode. The reference judge
 * (proxy-model.ts) on the whole input (then FIN) says what must happen:
 *
 *   done     one connection opened, under the carried address (proxy) or
 *            the socket's (local, unknown); if exactly one frame follows the
 *            header, it is delivered byte-exact
 *   error    one `proxy_protocol` rejection, nothing opened, nothing delivered
 *   more     (FIN inside the header) the same as error: `truncated`
 *
 * The server parses with the default v2 bound, so cases are judged with it.
 */
import net from 'node:net';
import { once } from 'node:events';
import pino from 'pino';
import { loadConfig } from '../../src/config/load-config.js';
import type { Config } from '../../src/config/schema.js';
import type { ConnectionInfo, Packet, PacketHandler } from '../../src/handlers/types.js';
import { IngestServer } from '../../src/server.js';
import { V2_DEFAULT_MAX_BYTES, type ProxyMode } from '../../src/socket/proxy-protocol.js';
import { judgeProxy } from './proxy-model.js';
import { FRAME, FRAME_PAYLOAD, makeProxyCase, type ProxyCase, type ProxyFinding } from './proxy-fuzz.js';

class Watch implements PacketHandler {
  opened: ConnectionInfo[] = [];
  payloads: Buffer[] = [];
  open(c: ConnectionInfo): void {
    this.opened.push(c);
  }
  onPacket(p: Packet): void {
    this.payloads.push(Buffer.from(p.payload));
  }
}

interface Target {
  server: IngestServer;
  port: number;
  watch: Watch;
}

export class ProxyLiveTargets {
  private readonly targets = new Map<ProxyMode, Target>();

  private async target(mode: ProxyMode): Promise<Target> {
    const known = this.targets.get(mode);
    if (known !== undefined) return known;
    const base = loadConfig({ env: {} });
    const config: Config = {
      ...base,
      tcp: { ...base.tcp, host: '127.0.0.1', port: 0, proxyProtocol: mode },
      http: { ...base.http, host: '127.0.0.1', port: 0 },
      handlers: [],
      log: { level: 'silent', format: 'json' },
      shutdown: { drainTimeoutMs: 500 },
    };
    const watch = new Watch();
    const server = new IngestServer({ config, logger: pino({ level: 'silent' }), handlers: [{ name: 'watch', handler: watch }], preambleTimeoutMs: 2000 });
    const { tcpPort } = await server.start();
    const t = { server, port: tcpPort, watch };
    this.targets.set(mode, t);
    return t;
  }

  /** Null when the server did what the judge says; else what differed. */
  async run(c: ProxyCase, framePayload = FRAME_PAYLOAD, frameBytes = FRAME.length): Promise<string | null> {
    const t = await this.target(c.mode);
    const { stats } = t.server;
    const before = { opened: stats.connectionsTotal, refused: stats.connectionsRejected.proxy_protocol };
    t.watch.opened = [];
    t.watch.payloads = [];
    const socket = net.connect(t.port, '127.0.0.1');
    socket.on('error', () => {});
    socket.resume();
    await once(socket, 'connect');
    let at = 0;
    for (const cut of c.cuts) {
      if (cut > at) socket.write(c.bytes.subarray(at, cut));
      at = cut;
    }
    socket.end();
    if (!socket.destroyed) await once(socket, 'close');
    // The server decided before closing; its bookkeeping may finish a turn later.
    const want = judgeProxy(c.bytes, c.mode, V2_DEFAULT_MAX_BYTES);
    const settled = () => stats.connectionsTotal > before.opened || stats.connectionsRejected.proxy_protocol > before.refused;
    for (let turns = 0; !settled() && turns < 10_000; turns++) await new Promise((r) => setImmediate(r));
    const opened = stats.connectionsTotal - before.opened;
    const refused = stats.connectionsRejected.proxy_protocol - before.refused;
    if (want.status !== 'done') {
      return opened === 0 && refused === 1 && t.watch.payloads.length === 0 ? null : `judge ${JSON.stringify(want)}; server opened ${opened}, refused ${refused}`;
    }
    if (opened !== 1 || refused !== 0) return `judge done; server opened ${opened}, refused ${refused}`;
    for (let turns = 0; t.watch.opened.length === 0 && turns < 10_000; turns++) await new Promise((r) => setImmediate(r));
    const conn = t.watch.opened[0];
    const address = want.kind === 'proxy' ? want.source : '127.0.0.1';
    if (conn?.remoteAddress !== address) return `judge says address ${address}; connection has ${conn?.remoteAddress}`;
    if (c.bytes.length - want.headerLength === frameBytes) {
      for (let turns = 0; t.watch.payloads.length === 0 && turns < 10_000; turns++) await new Promise((r) => setImmediate(r));
      if (t.watch.payloads.length !== 1 || !t.watch.payloads[0].equals(framePayload)) return `the frame after the header was not delivered byte-exact (${t.watch.payloads.length} packets)`;
    }
    return null;
  }

  async stop(): Promise<void> {
    for (const t of this.targets.values()) await t.server.shutdown();
    this.targets.clear();
  }
}

/** Every `every`-th case of run `seed` (index 0, every, 2 every, ...) through live servers, `count` of them. */
export async function runProxyLive(opts: { seed: number; every: number; count: number; maxFindings?: number }): Promise<{ inputs: number; findings: ProxyFinding[] }> {
  const targets = new ProxyLiveTargets();
  const findings: ProxyFinding[] = [];
  let inputs = 0;
  try {
    for (; inputs < opts.count && findings.length < (opts.maxFindings ?? 5); inputs++) {
      const index = inputs * opts.every;
      const c = makeProxyCase(opts.seed, index);
      const message = await targets.run(c);
      if (message !== null) findings.push({ index, message: `live: ${message} (mode ${c.mode})`, file: '' });
    }
  } finally {
    await targets.stop();
  }
  return { inputs, findings };
}
