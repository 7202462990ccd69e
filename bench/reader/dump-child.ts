/**
 * Child of the reader bench: runs `dump --json` (runDump, as the CLI does)
 * on FILE to its stdout, which the bench points at /dev/null; writes
 * {wallSeconds, cpuSeconds} to fd 3.
 */
import fs from 'node:fs';
import { runDump } from '../../src/cli/dump.js';

const file = process.argv[2];
const cpu = process.cpuUsage();
const started = performance.now();
const code = await runDump({ kind: 'dump', files: [file], json: true, follow: false }, { out: process.stdout, err: process.stderr });
const used = process.cpuUsage(cpu);
if (code !== 0) process.exit(1);
fs.writeSync(3, JSON.stringify({ wallSeconds: (performance.now() - started) / 1000, cpuSeconds: (used.user + used.system) / 1e6 }));
