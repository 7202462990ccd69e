/**
 * The crash proof, CI size (load/lib/crash-run.ts; `npm run crash -- --kills N`
 * runs a longer one): the built CLI server SIGKILLed 5 times while an ack-mode
 * producer keeps sending, per fsync mode. Every acknowledged frame must be in
 * the capture files, every file whole frames, duplicates within the frames
 * unacknowledged at the kills.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crashPassed, formatCrashReport, runCrash } from '../../load/lib/crash-run.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const TSC = createRequire(path.join(ROOT, 'package.json')).resolve('typescript/bin/tsc');
let dir = '';

beforeAll(async () => {
  // The built server, as deployed: compiled into a temp dir laid out like the package.
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pkt-crash-'));
  await promisify(execFile)(process.execPath, [TSC, '-p', 'tsconfig.build.json', '--outDir', path.join(dir, 'dist')], { cwd: ROOT });
  for (const name of ['package.json', 'node_modules']) fs.symlinkSync(path.join(ROOT, name), path.join(dir, name));
}, 60_000);

afterAll(() => {
  if (dir !== '') fs.rmSync(dir, { recursive: true, force: true });
});

describe('crash proof: SIGKILL while an ack-mode producer sends', () => {
  it.each(['interval', 'always'] as const)('fsync %s: no acknowledged frame lost, files whole, duplicates bounded', async (fsync) => {
    const work = fs.mkdtempSync(path.join(dir, `run-${fsync}-`));
    const report = await runCrash({ cli: path.join(dir, 'dist/cli.js'), dir: work, kills: 5, fsync, seed: fsync === 'always' ? 7 : 11 });
    console.log(formatCrashReport(report));
    expect(report.kills).toBe(5);
    expect(report.badFiles).toEqual([]);
    expect(report.missing).toBe(0);
    expect(report.unknown).toBe(0);
    expect(report.acked).toBe(report.sent);
    expect(report.sent).toBeGreaterThan(1000); // the producer kept going through the kills
    expect(report.duplicates).toBeLessThanOrEqual(report.unackedAtKills);
    expect(crashPassed(report)).toBe(true);
  }, 30_000);
});
