/**
 * Running python3 from tests. python3 is on every machine here; where it is
 * missing the tests skip, except in CI (`process.env.CI`), where that fails.
 */
import { spawn, spawnSync } from 'node:child_process';

export const hasPython = spawnSync('python3', ['--version']).status === 0;
/** Skip the suite when python3 is missing outside CI. */
export const skipWithoutPython = !hasPython && !process.env.CI;

export interface PythonRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `python3 args...` (stdin closed) and resolves when it exits; kills it after `timeoutMs`. */
export function runPython(args: readonly string[], timeoutMs = 20_000): Promise<PythonRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
