/**
 * A real `nats-server -js` for tests and benchmarks: loopback, a port the
 * server picks (or a given one, for restarts), a temp store directory, and
 * stop/kill. Where the binary is missing, suites skip with one line, except
 * in CI (process.env.CI), where a missing server is a failing test.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * SIGSTOP, then waits until every thread of the server is stopped. kill()
 * only queues the stop: each thread stops when it next runs kernel code,
 * and on a loaded machine a thread was seen answering a publish (a PubAck
 * the test said could not come) a few milliseconds after kill() returned.
 * Linux: polls /proc/PID/task/N/stat (state `T`) every millisecond, up to
 * 5 s; elsewhere just the signal.
 */
export async function pauseNats(server: NatsServer): Promise<void> {
  const pid = server.process.pid as number;
  server.process.kill('SIGSTOP');
  if (!fs.existsSync(`/proc/${pid}/task`)) return;
  const deadline = Date.now() + 5000;
  while (!allThreadsStopped(pid)) {
    if (Date.now() > deadline) throw new Error(`nats-server (pid ${pid}) not stopped 5 s after SIGSTOP`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** SIGCONT: the server runs again (threads resume as the scheduler gets to them). */
export function resumeNats(server: NatsServer): void {
  server.process.kill('SIGCONT');
}

function allThreadsStopped(pid: number): boolean {
  return fs.readdirSync(`/proc/${pid}/task`).every((task) => {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/task/${task}/stat`, 'utf8');
      return stat[stat.lastIndexOf(')') + 2] === 'T';
    } catch {
      return true; // the thread exited meanwhile
    }
  });
}

/** Path of nats-server on PATH (or $NATS_SERVER), or null. */
export function findNatsServer(): string | null {
  const given = process.env.NATS_SERVER;
  if (given !== undefined && given !== '') return fs.existsSync(given) ? given : null;
  const r = spawnSync('sh', ['-c', 'command -v nats-server'], { encoding: 'utf8' });
  const found = r.stdout.trim();
  return r.status === 0 && found !== '' ? found : null;
}

/**
 * True if the NATS suites can run. Otherwise prints one line and returns
 * false; under CI it also registers a failing test, so the run fails.
 */
export function natsServerAvailable(suite: string, test: (name: string, fn: () => void) => void): boolean {
  if (findNatsServer() !== null) return true;
  const why = `nats-server not found on PATH (Debian: apt-get install nats-server)`;
  if (process.env.CI) {
    test(`${suite}: nats-server is installed (required in CI)`, () => {
      throw new Error(why);
    });
  } else {
    console.warn(`skipping ${suite}: ${why}`);
  }
  return false;
}

export interface NatsServer {
  readonly port: number;
  readonly url: string;
  readonly storeDir: string;
  readonly process: ChildProcess;
  /** SIGTERM and wait for exit. */
  stop(): Promise<void>;
  /** SIGKILL (a crash) and wait for exit. */
  kill(): Promise<void>;
}

export interface NatsServerOptions {
  /** Default: a free port picked by the server. */
  port?: number;
  /** Default: a new temp directory. */
  storeDir?: string;
  /** Extra command-line arguments. */
  args?: string[];
  /** Milliseconds to wait for the server to listen. */
  timeoutMs?: number;
  /** Extra environment (e.g. the Go runtime's GOGC, GOMAXPROCS), over this process's. */
  env?: Record<string, string>;
}

const LISTENING = /Listening for client connections on [^\s]*:(\d+)/u;
const READY = /Server is ready/u;

export async function startNatsServer(opts: NatsServerOptions = {}): Promise<NatsServer> {
  const bin = findNatsServer();
  if (bin === null) throw new Error('nats-server not found on PATH (Debian: apt-get install nats-server)');
  const storeDir = opts.storeDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'pkt-nats-'));
  const args = ['-js', '-a', '127.0.0.1', '-p', String(opts.port ?? -1), '-sd', storeDir, ...(opts.args ?? [])];
  const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...opts.env } });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let log = '';
  const port = await new Promise<number>((resolve, reject) => {
    let found = -1;
    const timer = setTimeout(() => reject(new Error(`nats-server did not start within ${opts.timeoutMs ?? 10_000} ms:\n${log}`)), opts.timeoutMs ?? 10_000);
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      if (log.length < 20_000) log += chunk;
      const m = LISTENING.exec(log);
      if (m && found < 0) found = Number(m[1]);
      if (found > 0 && READY.test(log)) {
        clearTimeout(timer);
        resolve(found);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`nats-server exited (${code}) before it was ready:\n${log}`));
    });
  });
  child.stderr?.resume();
  const end = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  return {
    port,
    url: `nats://127.0.0.1:${port}`,
    storeDir,
    process: child,
    stop: () => end('SIGTERM'),
    kill: () => end('SIGKILL'),
  };
}

/** CPU seconds (user + system) a process used so far, from /proc/<pid>/stat; null off Linux. */
export function processCpuSeconds(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields after the name start at 3 (state); utime and stime are fields 14 and 15.
    const ticks = Number(fields[11]) + Number(fields[12]);
    return ticks / 100; // USER_HZ is 100 on Linux
  } catch {
    return null;
  }
}
