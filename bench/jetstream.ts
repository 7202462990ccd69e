/**
 * `npm run bench -- jetstream`: frames into a file-backed JetStream stream
 * on a local `nats-server -js` (started here, temp store, stopped after).
 *
 *   sink       the jetstream handler (runs of whole frames per message,
 *              maxInFlight 256, maxMessageBytes 1 MiB), fed in-process by
 *              the server's own FrameReader (64 KiB reads, 4 connections,
 *              holds honoured), timed until the last frame's PubAck
 *   per-frame  one message per frame, awaiting PubAcks with 64 outstanding
 *              (what Vector's `nats` sink and Redpanda Connect's
 *              `nats_jetstream` output do), same frames, same server
 *
 * Both run in the same process against the same server, alternating, at
 * 64 B and 16 KiB payloads; the median of the repetitions is reported with
 * the nats-server's CPU (user + system from /proc/<pid>/stat) over the run.
 *
 * At 16 KiB two tuned sinks run in the same rounds (docs/jetstream.md,
 * Tuning): against a second nats-server with PKT_BENCH_NATS_ENV (default
 * `GOGC=400`), and that plus 2 MiB rings and maxInFlight 8 (messages grow
 * to about 1 MiB). The defaults' rows stay: they are what a plain install gets.
 */
import { spawnSync } from 'node:child_process';
import { jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { createJetStreamHandler } from '../src/handlers/jetstream-handler.js';
import type { ConnectionInfo, HandlerContext } from '../src/handlers/types.js';
import { encodeFrame } from '../src/wire/encode.js';
import { findNatsServer, processCpuSeconds, startNatsServer, type NatsServer } from '../test/helpers/nats-server.js';
import { feedConnections } from './jetstream/feed.js';
import { fixed, median } from './lib/stats.js';
import { BenchFailure, type SuiteOptions, type SuiteReport } from './lib/suite.js';
import { markdownTable } from './lib/table.js';

interface Case {
  readonly payload: number;
  readonly sinkFrames: number;
  readonly perFrameFrames: number;
  /** Also the tuned sinks (16 KiB: where the server, not the sink, was the limit). */
  readonly tuned?: boolean;
}

/** A sink setting measured beside the defaults. */
interface SinkVariant {
  readonly label: string;
  /** Against the nats-server started with PKT_BENCH_NATS_ENV. */
  readonly tunedServer: boolean;
  readonly ringBytes?: number;
  readonly maxInFlight: number;
}

const FULL: { cases: Case[]; repetitions: number } = {
  cases: [
    { payload: 64, sinkFrames: 2_000_000, perFrameFrames: 40_000 },
    { payload: 16 * 1024, sinkFrames: 40_000, perFrameFrames: 10_000, tuned: true },
  ],
  // 5, not 3: on a shared 2-core machine single 16 KiB runs vary 200 to 400 MB/s.
  repetitions: 5,
};
const QUICK: typeof FULL = {
  cases: [
    { payload: 64, sinkFrames: 20_000, perFrameFrames: 2_000 },
    { payload: 16 * 1024, sinkFrames: 500, perFrameFrames: 200, tuned: true },
  ],
  repetitions: 1,
};
const CONNECTIONS = 4;
const PER_FRAME_WINDOW = 64;
const NATS_ENV = parseEnv(process.env.PKT_BENCH_NATS_ENV ?? 'GOGC=400');
const ENV_LABEL = Object.entries(NATS_ENV).map(([k, v]) => `${k}=${v}`).join(' ');
const DEFAULT_SINK: SinkVariant = { label: 'sink (runs per message)', tunedServer: false, maxInFlight: 256 };
const TUNED_SINKS: SinkVariant[] = [
  { label: `sink, nats-server ${ENV_LABEL}`, tunedServer: true, maxInFlight: 256 },
  { label: `sink, ${ENV_LABEL}, ringBytes 2 MiB, maxInFlight 8`, tunedServer: true, ringBytes: 2 * 1024 * 1024, maxInFlight: 8 },
];

interface Measured {
  frames: number;
  bytes: number;
  seconds: number;
  natsCpuSeconds: number;
  /** This process (the publisher side: decode, batching, client). */
  ownCpuSeconds: number;
}

export async function run(options: SuiteOptions): Promise<SuiteReport> {
  if (findNatsServer() === null) throw new BenchFailure('nats-server not found on PATH (Debian: apt-get install nats-server)');
  const plan = options.quick ? QUICK : FULL;
  const nats = await startNatsServer();
  const tunedNats = plan.cases.some((c) => c.tuned) ? await startNatsServer({ env: NATS_ENV }) : null;
  const nc = await connect({ servers: nats.url, noAsyncTraces: true });
  const tunedNc = tunedNats === null ? null : await connect({ servers: tunedNats.url, noAsyncTraces: true });
  const rows: string[][] = [];
  const json: unknown[] = [];
  try {
    for (const c of plan.cases) {
      const frame = encodeFrame({ sourceId: 'bench', destId: 'nats', payload: Buffer.alloc(c.payload, 0x5a), timestamp: 1n });
      const variants = c.tuned && tunedNats !== null ? [DEFAULT_SINK, ...TUNED_SINKS] : [DEFAULT_SINK];
      const sinks: Measured[][] = variants.map(() => []);
      const perFrame: Measured[] = [];
      for (let r = 0; r < plan.repetitions; r++) {
        for (const [i, v] of variants.entries()) {
          options.log(`jetstream ${c.payload} B: ${v.label} run ${r + 1}`);
          const server = v.tunedServer ? (tunedNats as NatsServer) : nats;
          const checker = v.tunedServer ? (tunedNc as NatsConnection) : nc;
          sinks[i].push(await measure(server, () => runSink(server, checker, frame, c.sinkFrames, `SINK${c.payload}V${i}R${r}`, v)));
        }
        options.log(`jetstream ${c.payload} B: per-frame run ${r + 1}`);
        perFrame.push(await measure(nats, () => runPerFrame(nc, frame, c.perFrameFrames, `PERFRAME${c.payload}R${r}`)));
      }
      const s = sinks.map(summarize);
      const p = summarize(perFrame);
      rows.push(...variants.map((v, i) => row(v.label, c.payload, s[i])), row(`per-frame, ${PER_FRAME_WINDOW} in flight`, c.payload, p));
      rows.push([`ratio sink / per-frame`, `${c.payload}`, `${fixed(s[0].framesPerSecond / p.framesPerSecond, 1)}x`, '', '', '', '']);
      const tuned = variants.slice(1).map((v, i) => ({ label: v.label, natsEnv: NATS_ENV, ringBytes: v.ringBytes, maxInFlight: v.maxInFlight, ...s[i + 1] }));
      json.push({ payload: c.payload, frameBytes: frame.length, sink: s[0], tuned, perFrame: p, ratio: s[0].framesPerSecond / p.framesPerSecond });
    }
  } finally {
    await nc.close();
    await tunedNc?.close();
    await nats.stop();
    await tunedNats?.stop();
  }
  const table = markdownTable(['publisher', 'payload B', 'frames/s', 'MB/s (frames)', 'nats-server CPU', 'publisher CPU', 'runs'], rows);
  const markdown =
    `### JetStream sink (file-backed stream, nats-server ${natsVersion()})\n\n${table}\n\n` +
    `Medians of ${plan.repetitions} run(s) each, alternating; time from the first frame to the last PubAck. ` +
    `nats-server CPU is its user + system time over the run divided by wall time (100% = one core); ` +
    `publisher CPU the same for this process (the sink: decode with CRC, batching, one copy per message, the NATS client). ` +
    `Tuned rows: a second nats-server with ${ENV_LABEL} (PKT_BENCH_NATS_ENV), started beside the default one.`;
  return { markdown, json };
}

/** `GOGC=400 GOMAXPROCS=1` -> { GOGC: '400', GOMAXPROCS: '1' }. */
function parseEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of text.split(/\s+/u).filter((p) => p !== '')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new BenchFailure(`PKT_BENCH_NATS_ENV: "${pair}" is not NAME=value`);
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return env;
}

function row(name: string, payload: number, s: Summary): string[] {
  return [name, `${payload}`, fixed(s.framesPerSecond, 0), fixed(s.megabytesPerSecond, 1), `${fixed(s.natsCpuPercent, 0)}%`, `${fixed(s.ownCpuPercent, 0)}%`, `${s.runs}`];
}

interface Summary {
  framesPerSecond: number;
  megabytesPerSecond: number;
  natsCpuPercent: number;
  ownCpuPercent: number;
  runs: number;
}

function summarize(ms: Measured[]): Summary {
  return {
    framesPerSecond: median(ms.map((m) => m.frames / m.seconds)),
    megabytesPerSecond: median(ms.map((m) => m.bytes / m.seconds / 1e6)),
    natsCpuPercent: median(ms.map((m) => (100 * m.natsCpuSeconds) / m.seconds)),
    ownCpuPercent: median(ms.map((m) => (100 * m.ownCpuSeconds) / m.seconds)),
    runs: ms.length,
  };
}

/** A run: set-up (connect, create the stream) untimed, then the timed part, then checks untimed. */
interface Run {
  timed(): Promise<{ frames: number; bytes: number }>;
  after(): Promise<void>;
}

async function measure(nats: NatsServer, setup: () => Promise<Run>): Promise<Measured> {
  const run = await setup();
  const pid = nats.process.pid as number;
  const cpu0 = processCpuSeconds(pid) ?? 0;
  const own0 = process.cpuUsage();
  const t0 = performance.now();
  const { frames, bytes } = await run.timed();
  const seconds = (performance.now() - t0) / 1000;
  const natsCpuSeconds = (processCpuSeconds(pid) ?? 0) - cpu0;
  const own = process.cpuUsage(own0);
  await run.after();
  return { frames, bytes, seconds, natsCpuSeconds, ownCpuSeconds: (own.user + own.system) / 1e6 };
}

async function runSink(nats: NatsServer, nc: NatsConnection, frame: Buffer, total: number, stream: string, v: SinkVariant): Promise<Run> {
  let committed = 0;
  let failed: unknown = null;
  const context: HandlerContext = {
    name: 'jetstream',
    log: pino({ level: 'silent' }),
    reportError: () => {},
    commit: (_c: ConnectionInfo, _count: number) => void committed++,
    failCommit: (_c, err) => void (failed = err),
  };
  const handler = createJetStreamHandler(
    { servers: [nats.url], stream, subject: `${stream.toLowerCase()}.in`, createStream: true, maxMessageBytes: 1024 * 1024, maxInFlight: v.maxInFlight, per: 'run' },
    context,
  );
  await handler.ready;
  const perConnection = Math.ceil(total / CONNECTIONS);
  const frames = perConnection * CONNECTIONS;
  return {
    async timed() {
      await feedConnections(handler, frame, perConnection, CONNECTIONS, v.ringBytes);
      await waitUntil(() => handler.publisher.ackedFrames >= frames || failed !== null);
      return { frames, bytes: frames * frame.length };
    },
    async after() {
      await handler.close?.();
      if (failed !== null || committed === 0) throw new BenchFailure(`jetstream sink failed: ${String(failed)}`);
      await checkStored(nc, stream, frame.length * frames);
    },
  };
}

async function runPerFrame(nc: NatsConnection, frame: Buffer, total: number, stream: string): Promise<Run> {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: stream, subjects: [`${stream.toLowerCase()}.in`], storage: StorageType.File });
  const js = jetstream(nc, { timeout: 10_000 });
  const subject = `${stream.toLowerCase()}.in`;
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const i = next++;
      await js.publish(subject, frame, { msgID: `${stream}-${i}` });
    }
  };
  return {
    async timed() {
      await Promise.all(Array.from({ length: PER_FRAME_WINDOW }, worker));
      return { frames: total, bytes: total * frame.length };
    },
    after: () => checkStored(nc, stream, frame.length * total),
  };
}

async function checkStored(nc: NatsConnection, stream: string, bytes: number): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(stream);
  if (info.state.bytes < bytes) throw new BenchFailure(`stream ${stream} holds ${info.state.bytes} bytes, expected at least ${bytes} of frames`);
  await jsm.streams.delete(stream);
}

async function waitUntil(test: () => boolean): Promise<void> {
  while (!test()) await new Promise((r) => setTimeout(r, 1));
}

function natsVersion(): string {
  const bin = findNatsServer();
  const out = bin === null ? '' : spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout;
  return out.trim().replace(/^nats-server: /u, '') || 'unknown version';
}
