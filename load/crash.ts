/**
 * `npm run crash -- [--kills N] [--fsync interval|always|both] [--payload B] [--seed S]`:
 * the crash proof of load/lib/crash-run.ts, as long as you like, against
 * the built server (`npm run build` first). stdout: one report line per
 * fsync mode; stderr: a line per kill. Exit 0 when every run passed, 1 if
 * one failed, 2 for a usage error.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { crashPassed, formatCrashReport, runCrash } from './lib/crash-run.js';

const HELP = `usage: npm run crash -- [options]

SIGKILLs the built pkt-ingest server (dist/cli.js) at random moments while
an ack-mode producer keeps sending (it reconnects and resends what was not
acknowledged), restarts it each time, stops it cleanly, then checks the
capture files: every acknowledged frame stored (by its sequence
extension), every file whole frames, duplicates no more than the frames
unacknowledged at the kills.

  --kills N         kills per fsync mode (default 20)
  --fsync MODE      interval, always or both (default both)
  --payload BYTES   payload size of each frame (default 100)
  --seed S          seed of the kill timing (default 12)
  --keep            keep the work directory (printed) for inspection
  -h, --help        this text

Exit 0 when every run passed, 1 if one failed, 2 for a usage error.`;

const ROOT = path.resolve(import.meta.dirname, '..');

function usage(message: string): number {
  process.stderr.write(`crash: ${message} (see --help)\n`);
  return 2;
}

function positive(name: string, value: string | undefined, fallback: number): number | string {
  if (value === undefined) return fallback;
  const n = Number(value);
  return Number.isSafeInteger(n) && n > 0 ? n : `--${name} must be a positive integer, got "${value}"`;
}

async function main(argv: string[]): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        kills: { type: 'string' },
        fsync: { type: 'string' },
        payload: { type: 'string' },
        seed: { type: 'string' },
        keep: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    return usage((err as Error).message);
  }
  if (values.help === true) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  const kills = positive('kills', values.kills as string | undefined, 20);
  const payload = positive('payload', values.payload as string | undefined, 100);
  const seed = positive('seed', values.seed as string | undefined, 12);
  for (const v of [kills, payload, seed]) if (typeof v === 'string') return usage(v);
  const fsyncArg = (values.fsync as string | undefined) ?? 'both';
  if (!['interval', 'always', 'both'].includes(fsyncArg)) return usage(`--fsync must be interval, always or both, got "${fsyncArg}"`);
  const cli = path.join(ROOT, 'dist/cli.js');
  if (!fs.existsSync(cli)) return usage(`${cli} is missing: run \`npm run build\` first`);

  const modes = fsyncArg === 'both' ? (['interval', 'always'] as const) : [fsyncArg as 'interval' | 'always'];
  let ok = true;
  for (const fsync of modes) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `pkt-crash-${fsync}-`));
    const report = await runCrash({
      cli,
      dir,
      fsync,
      kills: kills as number,
      payloadBytes: payload as number,
      seed: seed as number,
      progress: (line) => process.stderr.write(`${fsync}: ${line}\n`),
    });
    process.stdout.write(`${formatCrashReport(report)}\n`);
    ok &&= crashPassed(report);
    if (values.keep === true) process.stderr.write(`work directory kept: ${dir}\n`);
    else fs.rmSync(dir, { recursive: true, force: true });
  }
  return ok ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
