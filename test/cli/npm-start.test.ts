/**
 * `npm start` without npm: the `start` script's command line from
 * package.json, run against a fresh compile (tsc -p tsconfig.build.json into
 * a temp dir laid out like the package: dist/, package.json, config/,
 * node_modules), cwd that dir. PKT_INGEST_PORT=0 and PKT_INGEST_HTTP_PORT=0
 * keep it off 7400/7401; everything else is the built-in defaults, so the
 * capture lands in ./data/capture.pkt.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectFile } from '../../src/inspect/inspect-file.js';
import { encodeFrame } from '../../src/wire/encode.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const PKG = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
// The tsc that `npx tsc` runs, without npm in between.
const TSC = createRequire(path.join(ROOT, 'package.json')).resolve('typescript/bin/tsc');
const LIMITS = { maxPayloadBytes: 1 << 20, maxHeaderBytes: 4096 };

let dir = '';
let child: ChildProcess | null = null;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pkt-npm-start-'));
  await promisify(execFile)(process.execPath, [TSC, '-p', 'tsconfig.build.json', '--outDir', path.join(dir, 'dist')], {
    cwd: ROOT,
  });
  for (const name of ['package.json', 'config', 'node_modules']) fs.symlinkSync(path.join(ROOT, name), path.join(dir, name));
}, 120_000);

afterAll(() => {
  if (child !== null && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  if (dir !== '') fs.rmSync(dir, { recursive: true, force: true });
});

async function waitFor(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('npm start (the compiled server, built-in defaults)', () => {
  it('listens, captures a producer\'s frames in ./data/capture.pkt, exits 0 on SIGTERM', async () => {
    const [command, ...args] = PKG.scripts.start.split(/\s+/);
    expect(command).toBe('node');
    expect(args).toEqual(['dist/cli.js', 'serve']);

    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PKT_INGEST_')) env[k] = v;
    const proc = spawn(process.execPath, args, {
      cwd: dir,
      env: { ...env, PKT_INGEST_PORT: '0', PKT_INGEST_HTTP_PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      proc.once('exit', (code, signal) => resolve({ code, signal })),
    );
    let stderr = '';
    proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const lines: string[] = [];
    const listening = await new Promise<{ tcpPort: number; httpPort: number }>((resolve, reject) => {
      readline.createInterface({ input: proc.stdout! }).on('line', (line) => {
        lines.push(line);
        if (line.includes('"msg":"listening"')) resolve(JSON.parse(line) as { tcpPort: number; httpPort: number });
      });
      void exited.then(({ code, signal }) => reject(new Error(`npm start exited (${code ?? signal}): ${stderr}${lines.join('\n')}`)));
    });
    expect(listening.tcpPort).toBeGreaterThan(0);
    expect(listening.httpPort).toBeGreaterThan(0);
    expect(listening.tcpPort).not.toBe(7400);
    expect((await fetch(`http://127.0.0.1:${listening.httpPort}/readyz`)).status).toBe(200);

    const frames = Array.from({ length: 200 }, (_, i) =>
      encodeFrame({ sourceId: 'npm-start', destId: 'capture', payload: Buffer.alloc((i * 997) % 20_000, i & 0xff), timestamp: i + 1 }),
    );
    const total = frames.reduce((n, f) => n + f.length, 0);
    const producer = net.connect(listening.tcpPort, '127.0.0.1');
    await once(producer, 'connect');
    producer.end(Buffer.concat(frames));
    await once(producer, 'close');

    const capture = path.join(dir, 'data', 'capture.pkt');
    // The contract: every fsync mode writes frames to the file within 100 ms.
    await waitFor(`${total} bytes in ${capture}`, () => fs.existsSync(capture) && fs.statSync(capture).size === total);
    expect(inspectFile(capture, LIMITS)).toMatchObject({ frames: 200, bytes: total, firstError: null, torn: null });

    proc.kill('SIGTERM');
    expect(await exited).toEqual({ code: 0, signal: null });
    expect(stderr).toBe('');
    expect(inspectFile(capture, LIMITS)).toMatchObject({ frames: 200, bytes: total, firstError: null });
  });
});
