/**
 * What the baseline servers share: the command line, the listening handshake
 * and the session report, all through the IPC channel of
 * `child_process.fork` (the benchmark is the parent).
 *
 *   parent                         server (this process)
 *     fork(server, [--connections N])
 *                      <-------    { type: 'listening', port }
 *   producer runs N connections ->  begin() / end() per chunk, count
 *                      <-------    { type: 'session', packets, bytes, ... }
 *                                   (once N connections closed; then reset)
 *
 * A session is one producer run: timed from its first chunk to the end of
 * the chunk that held its last byte. Timestamps are taken per chunk, never
 * per packet, so timing costs nothing measurable.
 */
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { parseArgs } from 'node:util';

/** pkt-ingest's defaults (config/default.json), so the baselines reject the same frames. */
export const LIMITS = { maxPayloadBytes: 1024 * 1024, maxHeaderBytes: 4096 } as const;

/** The message a server sends at the end of each session. */
export interface SessionReport {
  readonly type: 'session';
  /** Valid packets delivered (0 for the raw sinks, which do not parse). */
  readonly packets: number;
  /** Bytes received (wire bytes of valid frames for the parsing servers). */
  readonly bytes: number;
  /** Frames rejected (bad magic, lengths, CRC); the benchmark fails on any. */
  readonly errors: number;
  readonly firstError: string | null;
  /** First chunk to the end of the last one, in seconds. */
  readonly seconds: number;
}

export interface ListeningMessage {
  readonly type: 'listening';
  readonly port: number;
}

export class Session {
  packets = 0;
  bytes = 0;
  errors = 0;
  firstError: string | null = null;
  private first = 0;
  private last = 0;
  private closed = 0;

  constructor(private readonly connections: number) {}

  /** A chunk arrived: the clock starts at the session's first one. */
  begin(): void {
    if (this.first === 0) this.first = performance.now();
  }

  /** A chunk was processed. */
  end(): void {
    this.last = performance.now();
  }

  fail(message: string): void {
    this.errors++;
    this.firstError ??= message;
  }

  /** A connection closed; the session ends with the N-th. */
  connectionClosed(): void {
    if (++this.closed < this.connections) return;
    const report: SessionReport = {
      type: 'session',
      packets: this.packets,
      bytes: this.bytes,
      errors: this.errors,
      firstError: this.firstError,
      seconds: this.first === 0 ? 0 : (this.last - this.first) / 1000,
    };
    send(report);
    this.packets = this.bytes = this.errors = this.first = this.last = this.closed = 0;
    this.firstError = null;
  }
}

function send(message: SessionReport | ListeningMessage): void {
  if (process.send === undefined) process.stdout.write(`${JSON.stringify(message)}\n`);
  else process.send(message);
}

/** `--connections N`: how many closed connections end a session. */
export function sessionFromArgv(argv: readonly string[] = process.argv.slice(2)): Session {
  const { values } = parseArgs({ args: [...argv], options: { connections: { type: 'string', default: '1' } } });
  const n = Number(values.connections);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--connections must be a positive integer, got ${values.connections}`);
  return new Session(n);
}

/**
 * Listens on 127.0.0.1 (a free port), runs `onBound` (set-up that needs the
 * bound handle), then tells the parent the port.
 */
export async function listen(server: net.Server, onBound?: () => void): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // SIGTERM from the parent ends the process at once (nothing to flush);
  // without the parent there is nothing to report to.
  process.on('SIGTERM', () => process.exit(0));
  process.on('disconnect', () => process.exit(0));
  onBound?.();
  const port = (server.address() as net.AddressInfo).port;
  send({ type: 'listening', port });
  return port;
}

/** Env vars that make a baseline listen over TLS (the tls suite sets them): PEM certificate and key files. */
export const TLS_ENV = { cert: 'PKT_BENCH_TLS_CERT', key: 'PKT_BENCH_TLS_KEY' } as const;

/**
 * A plain `net.Server`, or with PKT_BENCH_TLS_CERT/KEY set a `tls.Server`
 * (handshake by Node, then the same 'data' events): the same baseline code
 * measured over TLS.
 */
export function createBenchServer(onConnection: (socket: net.Socket) => void): net.Server {
  const cert = process.env[TLS_ENV.cert];
  const key = process.env[TLS_ENV.key];
  if (cert === undefined || key === undefined) return net.createServer(onConnection);
  return tls.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) }, onConnection);
}
