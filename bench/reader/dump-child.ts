/** Child of the reader bench: runs `dump --json` (runDump, as the CLI does) on FILE to /dev/null; prints {frames, wallSeconds, cpuSeconds}. */
import fs from 'node:fs';
import { runDump } from '../../src/cli/dump.js';

const file = process.argv[2];
const out = fs.createWriteStream('/dev/null');
const cpu = process.cpuUsage();
const started = performance.now();
const code = await runDump({ kind: 'dump', files: [file], json: true, follow: false }, { out, err: process.stderr });
await new Promise<void>((resolve) => out.end(resolve));
const used = process.cpuUsage(cpu);
if (code !== 0) process.exit(1);
process.stdout.write(JSON.stringify({ wallSeconds: (performance.now() - started) / 1000, cpuSeconds: (used.user + used.system) / 1e6 }));
