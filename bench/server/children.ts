/**
 * The two kinds of child process the server suite runs, each `fork`ed under
 * tsx with an IPC channel:
 *
 *   ServerChild    one contender: announces its port (IPC, or pkt-ingest's
 *                  "listening" log line on stdout), then one 'session'
 *                  message per producer run; peak RSS read from /proc.
 *   ProducerChild  producer-child.ts, alive for the whole suite: runs load
 *                  (load/lib runLoad) on request and answers with its report.
 *
 * A child that exits early rejects whatever waits on it, with its last
 * output lines, so a crash reads as a failure rather than a hang.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { LoadReport } from '../../load/lib/report.js';
import type { ClientTlsOptions } from '../../src/producer/connect.js';
import type { SessionReport } from '../servers/session.js';
import { BenchFailure } from '../lib/suite.js';

/** The repository root: children run there, so `--import tsx` resolves. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const TSX = ['--import', 'tsx'];
const START_TIMEOUT_MS = 30_000;
const START_ATTEMPTS = 3;
const STOP_TIMEOUT_MS = 10_000;
const KEEP_LINES = 20;

/** Resolves once `child` exits; never rejects. */
function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Keeps a child's last output lines for error messages; calls onLine for each stdout line. */
function collectOutput(child: ChildProcess, tail: string[], onLine?: (line: string) => void): void {
  for (const [stream, isStdout] of [
    [child.stdout, true],
    [child.stderr, false],
  ] as const) {
    let partial = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (text: string) => {
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        tail.push(line);
        if (tail.length > KEEP_LINES) tail.shift();
        if (isStdout) onLine?.(line);
      }
    });
  }
}

export interface ServerStart {
  /** Display name, for messages. */
  readonly name: string;
  /** Script path relative to ROOT. */
  readonly script: string;
  readonly args: readonly string[];
  /** `ipc`: a { type: 'listening', port } message; `log`: pkt-ingest's "listening" JSON line. */
  readonly announce: 'ipc' | 'log';
  /** Extra environment (the tls suite: PKT_BENCH_TLS_CERT/KEY for the baselines). */
  readonly env?: Readonly<Record<string, string>>;
}

export class ServerChild {
  readonly port: number;
  /** pkt-ingest's HTTP port (from its "listening" line); 0 for the baselines. */
  httpPort = 0;
  private readonly child: ChildProcess;
  private readonly sessions: SessionReport[] = [];
  private waiter: ((report: SessionReport) => void) | null = null;
  private failWaiter: ((error: Error) => void) | null = null;
  private readonly tail: string[];
  private readonly name: string;

  private constructor(name: string, child: ChildProcess, port: number, tail: string[]) {
    this.name = name;
    this.child = child;
    this.port = port;
    this.tail = tail;
    child.on('message', (message: { type?: string }) => {
      if (message.type !== 'session') return;
      const report = message as SessionReport;
      const waiter = this.waiter;
      this.waiter = this.failWaiter = null;
      if (waiter) waiter(report);
      else this.sessions.push(report);
    });
    child.once('exit', (code, signal) => {
      this.failWaiter?.(this.failure(`exited (code ${code}, signal ${signal}) during a session`));
      this.waiter = this.failWaiter = null;
    });
  }

  get pid(): number {
    return this.child.pid as number;
  }

  /**
   * Starts the server; retried (up to START_ATTEMPTS) only when binding port 0
   * failed with EADDRINUSE, which other work on a shared machine can cause
   * by exhausting ephemeral ports for a moment.
   */
  static async start(spec: ServerStart): Promise<ServerChild> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await ServerChild.startOnce(spec);
      } catch (error) {
        if (attempt >= START_ATTEMPTS || !/EADDRINUSE|already in use/.test((error as Error).message)) throw error;
        await sleep(1000 * attempt);
      }
    }
  }

  private static async startOnce(spec: ServerStart): Promise<ServerChild> {
    const tail: string[] = [];
    const child = fork(spec.script, [...spec.args], { cwd: ROOT, execArgv: TSX, stdio: ['ignore', 'pipe', 'pipe', 'ipc'], env: { ...process.env, ...spec.env } });
    let httpPort = 0;
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => fail(`did not listen within ${START_TIMEOUT_MS} ms`), START_TIMEOUT_MS);
      const done = (): void => {
        clearTimeout(timer);
        child.off('exit', onExit);
        child.off('message', onMessage);
      };
      function fail(why: string): void {
        done();
        child.kill('SIGKILL');
        reject(new BenchFailure(`${spec.name}: ${why}; last output:\n${tail.join('\n')}`));
      }
      const onExit = (code: number | null): void => fail(`exited with code ${code} before listening`);
      const onMessage = (message: { type?: string; port?: number }): void => {
        if (spec.announce === 'ipc' && message.type === 'listening' && typeof message.port === 'number') {
          done();
          resolve(message.port);
        }
      };
      child.once('exit', onExit);
      child.on('message', onMessage);
      collectOutput(child, tail, (line) => {
        if (spec.announce !== 'log' || !line.includes('"msg":"listening"')) return;
        const listening = JSON.parse(line) as { tcpPort?: number; httpPort?: number };
        if (typeof listening.tcpPort !== 'number') return fail(`logged "listening" without a tcpPort: ${line}`);
        httpPort = listening.httpPort ?? 0;
        done();
        resolve(listening.tcpPort);
      });
    });
    const server = new ServerChild(spec.name, child, port, tail);
    server.httpPort = httpPort;
    return server;
  }

  /** The report of the next session to end (one per producer run). */
  nextSession(timeoutMs: number): Promise<SessionReport> {
    const queued = this.sessions.shift();
    if (queued) return Promise.resolve(queued);
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.reject(this.failure('has exited'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = this.failWaiter = null;
        reject(this.failure(`reported no session within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = (report) => {
        clearTimeout(timer);
        resolve(report);
      };
      this.failWaiter = (error) => {
        clearTimeout(timer);
        reject(error);
      };
    });
  }

  /** Peak resident set size so far (VmHWM), in bytes. Linux only. */
  peakRssBytes(): number {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(status);
    if (match === null) throw new Error(`no VmHWM in /proc/${this.pid}/status`);
    return Number(match[1]) * 1024;
  }

  /** SIGTERM (pkt-ingest drains, the baselines just exit); SIGKILL if it lingers. */
  async stop(): Promise<void> {
    const gone = exited(this.child);
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await gone;
    clearTimeout(timer);
  }

  private failure(why: string): BenchFailure {
    return new BenchFailure(`${this.name} ${why}; last output:\n${this.tail.join('\n')}`);
  }
}

/** What the producer child is asked to send. */
export interface LoadRequest {
  readonly port: number;
  readonly connections: number;
  readonly packets: number;
  readonly payloadBytes: number;
  /** Connect over TLS (the tls suite). */
  readonly tls?: ClientTlsOptions;
  /** Set ACK_REQUEST and wait for every ACK before closing (the acks suite). */
  readonly acks?: boolean;
}

/** Messages between the suite and producer-child.ts. */
export type ProducerRequest = { type: 'run'; id: number; load: LoadRequest };
export type ProducerAnswer = { type: 'done'; id: number; report: LoadReport } | { type: 'failed'; id: number; message: string };

export class ProducerChild {
  private readonly child: ChildProcess;
  private readonly pending = new Map<number, { resolve: (r: LoadReport) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private readonly tail: string[] = [];

  constructor() {
    this.child = fork('bench/server/producer-child.ts', [], { cwd: ROOT, execArgv: TSX, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    collectOutput(this.child, this.tail);
    this.child.on('message', (answer: ProducerAnswer) => {
      const waiter = this.pending.get(answer.id);
      if (waiter === undefined) return;
      this.pending.delete(answer.id);
      if (answer.type === 'done') waiter.resolve(answer.report);
      else waiter.reject(new BenchFailure(`producer: ${answer.message}`));
    });
    this.child.once('exit', (code) => {
      const error = new BenchFailure(`producer exited (code ${code}); last output:\n${this.tail.join('\n')}`);
      for (const waiter of this.pending.values()) waiter.reject(error);
      this.pending.clear();
    });
  }

  get pid(): number {
    return this.child.pid as number;
  }

  /** Sends `load.packets` frames over `load.connections` connections; resolves with the producer's report. */
  run(load: LoadRequest): Promise<LoadReport> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.send({ type: 'run', id, load } satisfies ProducerRequest);
    });
  }

  async stop(): Promise<void> {
    const gone = exited(this.child);
    if (this.child.connected) this.child.disconnect();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await gone;
    clearTimeout(timer);
  }
}
