/**
 * The crash proof (docs/reliability.md): a producer in ack mode
 * (src/producer, acks: true) sends to the built CLI server, which is
 * SIGKILLed at random moments and restarted on the same port and capture
 * path while the producer keeps going (it reconnects and resends what no
 * ACK covered). Then a clean stop, and the capture files are checked:
 *
 *   - every file is whole frames (a kill's torn tail is cut on restart);
 *   - every acknowledged frame (by its `sequence` extension) is stored;
 *   - duplicates <= the sum over kills of the frames unacknowledged at
 *     that kill (the only frames a producer resends).
 *
 *   runCrash(options) -> CrashReport; used by test/reliability/crash.test.ts
 *   (CI: a few kills) and load/crash.ts (`npm run crash -- --kills N`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import readline from 'node:readline';
import { captureFiles } from '../../src/capture/capture-files.js';
import { readCapture } from '../../src/capture/read-capture.js';
import { inspectFile, isClean } from '../../src/inspect/inspect-file.js';
import { Producer } from '../../src/producer/producer.js';
import { findSequence } from '../../src/wire/sequence.js';
import { Prng } from './prng.js';

export interface CrashOptions {
  /** The built CLI (dist/cli.js). */
  readonly cli: string;
  /** Working directory of the server (the capture goes to data/capture.pkt in it). */
  readonly dir: string;
  readonly kills: number;
  readonly fsync: 'always' | 'interval';
  readonly fsyncIntervalMs?: number;
  readonly payloadBytes?: number;
  /** Random time the server runs (after it acknowledged again) before each kill, ms. */
  readonly runMs?: readonly [number, number];
  readonly seed?: number;
  /** Progress lines (stderr in the script). */
  readonly progress?: (line: string) => void;
}

export interface KillRecord {
  readonly sent: number;
  readonly acked: number;
}

export interface CrashReport {
  readonly fsync: 'always' | 'interval';
  readonly kills: number;
  readonly sent: number;
  readonly acked: number;
  readonly stored: number;
  readonly duplicates: number;
  /** Sum over kills of frames sent but not acknowledged at the kill: the bound on duplicates. */
  readonly unackedAtKills: number;
  /** Acknowledged frames missing from the capture (must be 0). */
  readonly missing: number;
  /** Files that are not whole frames (must be empty). */
  readonly badFiles: readonly string[];
  /** Frames whose sequence was never sent (must be 0). */
  readonly unknown: number;
  readonly killLog: readonly KillRecord[];
  readonly seconds: number;
}

/** Whether the report proves the claim. */
export function crashPassed(r: CrashReport): boolean {
  return r.missing === 0 && r.badFiles.length === 0 && r.unknown === 0 && r.duplicates <= r.unackedAtKills && r.acked === r.sent;
}

export function formatCrashReport(r: CrashReport): string {
  return (
    `fsync ${r.fsync}: kills ${r.kills}, sent ${r.sent}, acked ${r.acked}, stored ${r.stored}, ` +
    `duplicates ${r.duplicates} (bound ${r.unackedAtKills}), missing ${r.missing}, bad files ${r.badFiles.length}, ` +
    `${r.seconds.toFixed(1)} s -> ${crashPassed(r) ? 'PASS' : 'FAIL'}`
  );
}

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts `cli serve` and resolves once it logged "listening". */
async function startServer(cli: string, dir: string, configFile: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [cli, 'serve', '--config', configFile], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const lines = readline.createInterface({ input: child.stdout as NodeJS.ReadableStream });
  await new Promise<void>((resolve, reject) => {
    lines.on('line', (line) => {
      if (line.includes('"msg":"listening"')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`server exited (${code}) before listening: ${stderr}`)));
  });
  return child;
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** Resolves once `check` holds, polling every 5 ms; rejects after `ms`. */
async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`crash run: timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export async function runCrash(options: CrashOptions): Promise<CrashReport> {
  const started = performance.now();
  const { cli, dir, kills, fsync } = options;
  const log = options.progress ?? (() => {});
  const prng = new Prng(options.seed ?? 12);
  const [minRun, maxRun] = options.runMs ?? [100, 500];
  const port = await freePort();
  const configFile = path.join(dir, 'crash-config.json');
  fs.writeFileSync(
    configFile,
    JSON.stringify({
      tcp: { host: '127.0.0.1', port },
      http: { host: '127.0.0.1', port: 0 },
      log: { level: 'info' },
      handlers: [{ type: 'capture', path: 'data/capture.pkt', fsync, fsyncIntervalMs: options.fsyncIntervalMs ?? 100 }],
    }),
  );

  let server = await startServer(cli, dir, configFile);
  const producer = new Producer({ host: '127.0.0.1', port, acks: true, reconnect: { minMs: 10, maxMs: 100 }, maxUnackedBytes: 1 << 20 });
  producer.on('error', () => {}); // every kill breaks the connection: expected, it reconnects
  await producer.connect();
  const payload = Buffer.alloc(options.payloadBytes ?? 100, 0x5a);
  const frame = { sourceId: 'crash', destId: 'proof', payload };
  let sending = true;
  const sender = (async () => {
    let n = 0;
    while (sending) {
      if (!producer.send(frame)) await producer.drain();
      // Let timers (the kills) run even while the window has room.
      if (++n % 256 === 0) await new Promise((r) => setImmediate(r));
    }
  })();

  const killLog: KillRecord[] = [];
  for (let k = 0; k < kills; k++) {
    const ackedBefore = producer.stats.acked;
    await until(() => producer.stats.acked > ackedBefore, 10_000, 'the restarted server to acknowledge');
    await new Promise((r) => setTimeout(r, prng.int(minRun, maxRun)));
    const { sent, acked } = producer.stats;
    server.kill('SIGKILL');
    killLog.push({ sent, acked });
    log(`kill ${k + 1}/${kills}: sent ${sent}, acked ${acked}, unacked ${sent - acked}`);
    await exited(server);
    server = await startServer(cli, dir, configFile);
  }

  sending = false;
  await sender;
  await producer.flush();
  await producer.close();
  server.kill('SIGTERM');
  const code = await exited(server);
  if (code !== 0) throw new Error(`crash run: the server exited ${code} after SIGTERM`);
  const { sent, acked } = producer.stats;

  const capture = path.join(dir, 'data/capture.pkt');
  const limits = { maxPayloadBytes: 1 << 20, maxHeaderBytes: 4096 };
  const badFiles = captureFiles(capture).filter((file) => !isClean(inspectFile(file, limits)));
  const seen = new Uint8Array(sent);
  let stored = 0;
  let unknown = 0;
  for (const packet of readCapture(capture)) {
    stored++;
    const seq = findSequence(packet.extensions());
    if (seq === null || seq.sequence >= sent) unknown++;
    else if (seen[seq.sequence] < 255) seen[seq.sequence]++;
  }
  let missing = 0;
  let unique = 0;
  for (let i = 0; i < sent; i++) {
    if (seen[i] > 0) unique++;
    else if (i < acked) missing++;
  }
  return {
    fsync,
    kills,
    sent,
    acked,
    stored,
    duplicates: stored - unknown - unique,
    unackedAtKills: killLog.reduce((sum, k) => sum + (k.sent - k.acked), 0),
    missing,
    badFiles,
    unknown,
    killLog,
    seconds: (performance.now() - started) / 1000,
  };
}
