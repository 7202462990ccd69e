/**
 * Target (b): a case sent over loopback to a real IngestServer in this
 * process, one connection at a time, written in the case's cuts (each cut
 * its own write, a turn of the event loop apart, so reads see varied
 * segments). The server is restarted now and then with other settings.
 *
 * Checked per input: the frames a recording handler got (byte-exact, in
 * order, at the right stream offsets), the frame error counters' change
 * against the model, the connection closed within a time bound, and the
 * rings back to 0 bytes.
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { setImmediate as tick, setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { loadConfig } from '../../src/config/load-config.js';
import type { Config } from '../../src/config/schema.js';
import type { DecoderLimits } from '../../src/frame/frame-decoder.js';
import type { ErrorPolicy } from '../../src/frame/frame-reader.js';
import type { ConnectionInfo, Packet, PacketHandler } from '../../src/handlers/types.js';
import { IngestServer } from '../../src/server.js';
import { FRAME_ERROR_REASONS } from '../../src/wire/reasons.js';
import { LIMIT_SETS, POLICIES, type FuzzCase } from './case.js';
import { compareLive, type ObservedFrame, type ReasonCounts } from './compare.js';
import { modelDecode } from './model.js';
import type { Rand } from './rand.js';
import type { CaseResult } from './reader-driver.js';

const MAX_WRITES = 2000;

/** Records every frame by the producer's port; optionally holds each for a turn (backpressure). */
class Recorder implements PacketHandler {
  readonly byPort = new Map<number, ObservedFrame[]>();
  constructor(private readonly hold: boolean) {}
  onPacket(p: Packet, conn: ConnectionInfo): void | Promise<void> {
    let list = this.byPort.get(conn.remotePort);
    if (list === undefined) this.byPort.set(conn.remotePort, (list = []));
    list.push({ offset: p.offset, frame: Buffer.from(p.frame), sourceId: p.sourceId, destId: p.destId });
    if (this.hold) return tick().then(() => undefined);
  }
}

/** How a live server is set up: saved with a live finding, so it can be replayed. */
export interface LiveSettings {
  ringBytes: number;
  limits: DecoderLimits;
  policy: ErrorPolicy;
  /** The recording handler returns a promise that settles a turn later. */
  hold: boolean;
  /** `data`: the 'data' event fallback instead of onread. */
  readMode: 'auto' | 'data';
}

export function randomLiveSettings(r: Rand): LiveSettings {
  return {
    ringBytes: r.pick([4096, 8192, 65_536, 262_144]),
    limits: r.weighted(LIMIT_SETS),
    policy: r.pick(POLICIES),
    hold: r.chance(0.3),
    readMode: r.chance(0.25) ? 'data' : 'auto',
  };
}

export class LiveTarget {
  readonly server: IngestServer;
  readonly port: number;
  readonly settings: LiveSettings;
  private readonly recorder: Recorder;

  private constructor(server: IngestServer, port: number, recorder: Recorder, settings: LiveSettings) {
    this.server = server;
    this.port = port;
    this.recorder = recorder;
    this.settings = settings;
  }

  static async start(settings: LiveSettings): Promise<LiveTarget> {
    const base = loadConfig({ env: {} });
    const config: Config = {
      ...base,
      tcp: { ...base.tcp, host: '127.0.0.1', port: 0, ringBytes: settings.ringBytes, idleTimeoutMs: 0 },
      http: { ...base.http, host: '127.0.0.1', port: 0 },
      limits: { ...settings.limits, handlerTimeoutMs: 0 }, // the fuzz recorder may hold frames for as long as it likes
      ...settings.policy,
      handlers: [],
      log: { level: 'silent', format: 'json' },
      shutdown: { drainTimeoutMs: 500 },
    };
    const recorder = new Recorder(settings.hold);
    const server = new IngestServer({
      config,
      logger: pino({ level: 'silent' }),
      handlers: [{ name: 'fuzz', handler: recorder }],
      readMode: settings.readMode,
    });
    const { tcpPort } = await server.start();
    return new LiveTarget(server, tcpPort, recorder, settings);
  }

  async stop(): Promise<void> {
    await this.server.shutdown();
  }

  /** Sends the case's bytes (its limits and policy are replaced by the server's), then checks. */
  async run(c: FuzzCase, budgetMs = 5000): Promise<CaseResult> {
    const stats = this.server.stats;
    const before = { ...stats.frameErrors };
    const started = performance.now();
    const late = (what: string): CaseResult => ({
      frames: 0,
      observed: { frames: [], errors: [] },
      finding: { kind: 'hang', message: `live: ${what} after ${budgetMs} ms` },
    });

    const socket = net.connect(this.port, '127.0.0.1');
    socket.on('error', () => {}); // the server may close on a bad frame while we write
    socket.resume();
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    await Promise.race([new Promise((resolve) => socket.once('connect', resolve)), closed]);
    const port = socket.localPort ?? 0;
    // At most ~MAX_WRITES writes: a 1-byte cut over a megabyte would take the budget.
    const least = Math.ceil(c.bytes.length / MAX_WRITES);
    let at = 0;
    for (let k = 0; at < c.bytes.length && !socket.destroyed; k++) {
      const n = Math.max(least, c.cuts[k % c.cuts.length]);
      if (!socket.write(c.bytes.subarray(at, at + n))) {
        await Promise.race([new Promise((resolve) => socket.once('drain', resolve)), closed]);
      } else if (k % 4 === 3) await tick();
      at += n;
      if (performance.now() - started > budgetMs) {
        socket.destroy();
        return late(`sending ${c.bytes.length} bytes`);
      }
    }
    socket.end();
    const left = budgetMs - (performance.now() - started);
    if ((await Promise.race([closed.then(() => 'closed'), sleep(Math.max(1, left)).then(() => 'late')])) === 'late') {
      socket.destroy();
      return late('connection still open');
    }
    const settled = (): boolean => stats.connectionsActive === 0 && stats.ringBytes === 0;
    while (!settled() && performance.now() - started < budgetMs) await sleep(1);
    if (!settled()) {
      return {
        frames: 0,
        observed: { frames: [], errors: [] },
        finding: { kind: 'leak', message: `live: after close, ${stats.connectionsActive} connections, ringBytes ${stats.ringBytes}` },
      };
    }

    const frames = this.recorder.byPort.get(port) ?? [];
    this.recorder.byPort.delete(port);
    const counts = {} as ReasonCounts;
    for (const reason of FRAME_ERROR_REASONS) counts[reason] = stats.frameErrors[reason] - before[reason];
    const { limits, policy } = this.settings;
    const mismatch = compareLive(c.bytes, frames, counts, modelDecode(c.bytes, limits, policy, true));
    return {
      frames: frames.length,
      observed: { frames, errors: [] },
      finding: mismatch === null ? null : { kind: 'mismatch', message: `live: ${mismatch}` },
    };
  }
}
