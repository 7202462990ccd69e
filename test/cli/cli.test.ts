/**
 * The real `pkt-ingest` command as a child process (`node --import tsx
 * src/cli.ts ...`, cwd a fresh temp dir): exit statuses and the one plain
 * stderr line of README.md and OPERATIONS.md (commands, exit status, configuration).
 *
 * tsx is imported by absolute URL: a bare `--import tsx` resolves from the
 * child's cwd, and a temp dir has no node_modules.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/wire/encode.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const CLI = path.join(ROOT, 'src/cli.ts');
const TSX = pathToFileURL(createRequire(path.join(ROOT, 'package.json')).resolve('tsx')).href;
const PKG = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };

const dirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pkt-cli-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** process.env without any PKT_INGEST_* the developer may have set, plus `extra`. */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PKT_INGEST_')) env[k] = v;
  return { ...env, ...extra };
}

/** Children still running; a failed assertion must not leave a server behind. */
const running = new Set<ChildProcess>();
afterEach(() => {
  // SIGKILL: a child whose stdout reader is gone may never finish a graceful stop.
  for (const child of running) child.kill('SIGKILL');
  running.clear();
});

function spawnCli(args: string[], cwd: string, env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, ['--import', TSX, CLI, ...args], {
    cwd,
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
    // A command that should fail at once but starts serving instead must not hang the suite.
    timeout: 20_000,
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

async function run(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<Run> {
  const child = spawnCli(args, opts.cwd ?? tempDir(), opts.env ?? {});
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
  return { code, signal, stdout, stderr };
}

/** The single stderr line of a failed command, checked for shape: one line, plain, no stack trace. */
function oneLine(r: Run): string {
  expect(r.stderr, 'stderr is exactly one line').toMatch(/^[^\n]+\n$/);
  const line = r.stderr.trimEnd();
  expect(line).toMatch(/^pkt-ingest: /);
  expect(line).not.toMatch(/\bat .+:\d+:\d+\)?$/); // a stack frame squeezed onto the line
  expect(line).not.toMatch(/\[object Object\]|undefined/);
  return line;
}

interface Serving {
  child: ChildProcess;
  tcpPort: number;
  httpPort: number;
  listening: Record<string, unknown>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `serve` in a child; resolves once its "listening" line is out, rejects if it exits first. */
async function serve(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<Serving> {
  const child = spawnCli(['serve', ...args], opts.cwd ?? tempDir(), opts.env ?? {});
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const lines: string[] = [];
  const listening = await new Promise<Record<string, unknown>>((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      lines.push(line);
      try {
        const obj = JSON.parse(line) as Record<string, unknown>;
        if (obj.msg === 'listening') resolve(obj);
      } catch {
        // not JSON: kept for the failure message
      }
    });
    void exited.then(({ code, signal }) =>
      reject(new Error(`serve exited (${code ?? signal}) before listening: ${stderr}${lines.join('\n')}`)),
    );
  });
  return { child, tcpPort: listening.tcpPort as number, httpPort: listening.httpPort as number, listening, exited };
}

async function occupyPort(): Promise<net.Server> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}
const portOf = (server: net.Server) => (server.address() as net.AddressInfo).port;
async function freePort(): Promise<number> {
  const server = await occupyPort();
  const port = portOf(server);
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const LOOPBACK = ['--host', '127.0.0.1', '--port', '0', '--http-port', '0'];

describe('pkt-ingest --help / --version', () => {
  it('--help exits 0 and lists serve and inspect', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^ +pkt-ingest serve /m);
    expect(r.stdout).toMatch(/^ +pkt-ingest inspect FILE/m);
  });

  it('--version exits 0 and prints the package.json version', async () => {
    const r = await run(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${PKG.version}\n`);
  });
});

describe('pkt-ingest serve: usage and configuration errors exit 2 with one plain line', () => {
  it.each<{ name: string; args: string[]; env?: Record<string, string>; file?: string; says: string[] }>([
    {
      name: 'an unknown flag',
      args: ['--bogus'],
      says: ['--bogus', 'unknown flag', 'allowed: --config, --host, --port, --http-port, --log-level'],
    },
    { name: 'an out-of-range --port', args: ['--port', '70000'], says: ['--port', '70000', 'out of range', '0..65535'] },
    { name: 'a non-integer PKT_INGEST_PORT', args: [], env: { PKT_INGEST_PORT: 'abc' }, says: ['PKT_INGEST_PORT', '"abc"', '0..65535'] },
    {
      name: 'an unknown key in the config file',
      args: ['--config', 'config.json'],
      file: JSON.stringify({ tcp: { port: 0, prot: 7400 } }),
      says: ['tcp.prot', 'unknown key', 'allowed keys: host, port'],
    },
    {
      name: 'a config file that is not JSON',
      args: ['--config', 'config.json'],
      file: '{ "tcp": { port: 0 } }',
      says: ['config.json', '--config', 'invalid JSON', 'line 1'],
    },
    { name: 'a missing config file', args: ['--config', 'missing.json'], says: ['missing.json', '--config', 'not found'] },
  ])('$name', async ({ args, env, file, says }) => {
    const cwd = tempDir();
    if (file !== undefined) fs.writeFileSync(path.join(cwd, 'config.json'), file);
    const r = await run(['serve', ...args], { cwd, env });
    expect(r.code, r.stderr).toBe(2);
    const line = oneLine(r);
    for (const s of says) expect(line).toContain(s);
    expect(r.stdout).toBe('');
    expect(fs.existsSync(path.join(cwd, 'data')), 'nothing was started').toBe(false);
  });
});

describe('pkt-ingest serve: start-up failures exit 1 with one plain line', () => {
  it.each([
    { side: 'tcp', args: (port: number) => ['--host', '127.0.0.1', '--port', String(port), '--http-port', '0'], key: '--port / tcp.port' },
    { side: 'http', args: (port: number) => ['--config', 'config.json', '--port', '0', '--http-port', String(port)], key: '--http-port / http.port' },
  ])('$side port already in use: says so and which flag or key to change', async ({ side, args, key }) => {
    const blocker = await occupyPort();
    try {
      const cwd = tempDir();
      fs.writeFileSync(path.join(cwd, 'config.json'), JSON.stringify({ tcp: { host: '127.0.0.1' }, http: { host: '127.0.0.1' } }));
      const port = portOf(blocker);
      const r = await run(['serve', ...args(port)], { cwd });
      expect(r.code, r.stderr).toBe(1);
      const line = oneLine(r);
      expect(line).toContain(`cannot listen for ${side}`);
      expect(line).toContain(`127.0.0.1:${port}`);
      expect(line).toContain('already in use');
      expect(line).toContain(key);
    } finally {
      blocker.close();
    }
  });

  it('an unwritable capture directory (a path under a regular file, so that root fails too)', async () => {
    const cwd = tempDir();
    fs.writeFileSync(path.join(cwd, 'blocker'), 'a file, not a directory\n');
    fs.writeFileSync(
      path.join(cwd, 'config.json'),
      JSON.stringify({ handlers: [{ type: 'capture', path: 'blocker/x/capture.pkt' }] }),
    );
    const r = await run(['serve', '--config', 'config.json', ...LOOPBACK], { cwd });
    expect(r.code, r.stderr).toBe(1);
    const line = oneLine(r);
    expect(line).toContain('blocker/x/capture.pkt');
    expect(line).toMatch(/not a directory|ENOTDIR/);
  });
});

describe('pkt-ingest serve: running', () => {
  it('precedence end to end: flag > environment > config file > default (the bound port shows it)', async () => {
    // The losing values are ports in use: if one of them won, serve would exit 1 instead.
    const fileBlocker = await occupyPort();
    const envBlocker = await occupyPort();
    try {
      const cwd = tempDir();
      const cases = [
        { flag: true, env: true },
        { flag: false, env: true },
        { flag: false, env: false },
      ];
      for (const c of cases) {
        const winner = await freePort();
        const filePort = c.env || c.flag ? portOf(fileBlocker) : winner;
        const envPort = c.flag ? portOf(envBlocker) : winner;
        fs.writeFileSync(
          path.join(cwd, 'config.json'),
          JSON.stringify({ tcp: { host: '127.0.0.1', port: filePort }, http: { host: '127.0.0.1', port: 0 }, handlers: [] }),
        );
        const s = await serve([...(c.flag ? ['--port', String(winner)] : [])], {
          cwd,
          env: { PKT_INGEST_CONFIG: 'config.json', ...(c.env ? { PKT_INGEST_PORT: String(envPort) } : {}) },
        });
        expect(s.tcpPort, JSON.stringify(c)).toBe(winner);
        s.child.kill('SIGTERM');
        expect((await s.exited).code).toBe(0);
      }
    } finally {
      fileBlocker.close();
      envBlocker.close();
    }
  });

  it.each(['error', 'warn'])('logs the listening line at --log-level %s, listens, and exits 0 on SIGINT', async (level) => {
    const cwd = tempDir();
    const s = await serve([...LOOPBACK, '--log-level', level], { cwd });
    expect(s.listening).toMatchObject({ msg: 'listening', level: level === 'error' ? 50 : 40 });
    expect(s.tcpPort).toBeGreaterThan(0);
    expect(s.httpPort).toBeGreaterThan(0);
    const socket = net.connect(s.tcpPort, '127.0.0.1');
    await once(socket, 'connect');
    socket.destroy();
    expect((await fetch(`http://127.0.0.1:${s.httpPort}/healthz`)).status).toBe(200);
    s.child.kill('SIGINT');
    expect(await s.exited).toEqual({ code: 0, signal: null });
  });
});

describe('pkt-ingest inspect', () => {
  const frame = (i: number, size: number, checksum?: number) =>
    encodeFrame({
      sourceId: 'cli-test',
      destId: `dest-${i}`,
      payload: Buffer.alloc(size, 0x41 + i),
      timestamp: 1_700_000_000_000_000 + i,
      ...(checksum !== undefined && { checksum }),
    });
  const [a, b, c] = [frame(0, 10), frame(1, 1000), frame(2, 70_000)];
  const KEYS = ['bytes', 'errors', 'firstError', 'frames', 'torn'];

  function capture(...parts: Buffer[]): { cwd: string; file: string } {
    const cwd = tempDir();
    fs.writeFileSync(path.join(cwd, 'capture.pkt'), Buffer.concat(parts));
    return { cwd, file: 'capture.pkt' };
  }
  async function inspectJson(parts: Buffer[]): Promise<{ code: number | null; report: Record<string, unknown> }> {
    const { cwd, file } = capture(...parts);
    const r = await run(['inspect', file, '--json'], { cwd });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^\{[^\n]*\}\n$/); // one object, one line
    const report = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(Object.keys(report).sort()).toEqual(KEYS);
    return { code: r.code, report };
  }

  it('a valid file: exit 0, text summary', async () => {
    const { cwd, file } = capture(a, b, c);
    const r = await run(['inspect', file], { cwd });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('capture.pkt: OK');
    expect(r.stdout).toMatch(/^frames: 3$/m);
    expect(r.stdout).toMatch(new RegExp(`^bytes: +${a.length + b.length + c.length}$`, 'm'));
    expect(r.stdout).toMatch(/^errors: none$/m);
  });

  it('a valid file: exit 0, --json with exactly frames, bytes, errors, firstError, torn', async () => {
    const { code, report } = await inspectJson([a, b, c]);
    expect(code).toBe(0);
    expect(report).toEqual({ frames: 3, bytes: a.length + b.length + c.length, errors: {}, firstError: null, torn: null });
  });

  it('an empty file is valid: exit 0', async () => {
    const { code, report } = await inspectJson([]);
    expect(code).toBe(0);
    expect(report).toEqual({ frames: 0, bytes: 0, errors: {}, firstError: null, torn: null });
  });

  it('a frame with a bad checksum in the middle: exit 1, firstError at its offset', async () => {
    const bad = frame(1, 1000, 0xdeadbeef);
    const { code, report } = await inspectJson([a, bad, c]);
    expect(code).toBe(1);
    expect(report).toEqual({
      frames: 2,
      bytes: a.length + c.length,
      errors: { crc_mismatch: 1 },
      firstError: { offset: a.length, reason: 'crc_mismatch' },
      torn: null,
    });
  });

  it('a frame with a bad magic in the middle: exit 1, the scan resyncs to the next frame (text summary)', async () => {
    const bad = Buffer.from(b);
    bad[0] ^= 0xff;
    const { cwd, file } = capture(a, bad, c);
    const r = await run(['inspect', file], { cwd });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toContain('capture.pkt: INVALID');
    expect(r.stdout).toMatch(/^frames: 2$/m);
    expect(r.stdout).toMatch(/^errors: bad_magic=1$/m);
    expect(r.stdout).toMatch(new RegExp(`^first error: bad_magic at byte offset ${a.length}$`, 'm'));
  });

  it('a torn last frame: exit 1, torn.offset at its start', async () => {
    const { code, report } = await inspectJson([a, b, c.subarray(0, c.length - 5)]);
    expect(code).toBe(1);
    const at = a.length + b.length;
    expect(report).toEqual({
      frames: 2,
      bytes: at,
      errors: { truncated: 1 },
      firstError: { offset: at, reason: 'truncated' },
      torn: { offset: at },
    });
  });

  it('a missing file: exit 2, one line naming it', async () => {
    const r = await run(['inspect', 'no-such.pkt', '--json']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    const line = oneLine(r);
    expect(line).toContain('no-such.pkt');
    expect(line).toMatch(/no such file/);
  });

  it('no FILE argument: exit 2, one line with the usage', async () => {
    const r = await run(['inspect', '--json']);
    expect(r.code).toBe(2);
    const line = oneLine(r);
    expect(line).toContain('missing FILE');
    expect(line).toContain('pkt-ingest inspect FILE');
  });
});
