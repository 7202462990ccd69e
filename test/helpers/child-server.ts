/**
 * Runs `pkt-ingest serve` as a child process (from the TypeScript sources,
 * through tsx) and reads its "listening" line for the bound ports.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const ROOT = path.resolve(import.meta.dirname, '../..');
export const CLI = path.join(ROOT, 'src/cli.ts');
/** By absolute URL: a bare `--import tsx` resolves from the child's cwd (a temp dir). */
export const TSX = pathToFileURL(createRequire(path.join(ROOT, 'package.json')).resolve('tsx')).href;

export interface ChildServer {
  child: ChildProcess;
  tcpPort: number;
  httpPort: number;
  dir: string;
  lines: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'pkt-child-'));
}

/** `wrap`: a command the server runs under, e.g. ['prlimit', '--nofile=256:256']. */
export async function startChild(config: Record<string, unknown>, dir = tempDir(), extraArgs: string[] = [], wrap: string[] = []): Promise<ChildServer> {
  const file = path.join(dir, 'config.json');
  fs.writeFileSync(file, JSON.stringify({ tcp: { host: '127.0.0.1', port: 0 }, http: { host: '127.0.0.1', port: 0 }, ...config }));
  const argv = [process.execPath, '--import', TSX, CLI, 'serve', '--config', file, ...extraArgs];
  const [command, ...args] = [...wrap, ...argv];
  const child = spawn(command, args, {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PKT_INGEST_CONFIG: '' },
  });
  const lines: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const rl = readline.createInterface({ input: child.stdout! });
  const ports = await new Promise<{ tcpPort: number; httpPort: number }>((resolve, reject) => {
    rl.on('line', (line) => {
      lines.push(line);
      try {
        const obj = JSON.parse(line) as { msg?: string; tcpPort?: number; httpPort?: number };
        if (obj.msg === 'listening') resolve({ tcpPort: obj.tcpPort!, httpPort: obj.httpPort! });
      } catch {
        // not JSON: keep it for the failure message
      }
    });
    void exited.then(({ code }) => reject(new Error(`server exited (${code}) before listening: ${stderr}${lines.join('\n')}`)));
  });
  return { child, ...ports, dir, lines, exited };
}
