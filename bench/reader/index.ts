/**
 * The capture reader, in process and end to end:
 *
 *  1. frames/s at 64 B payloads: readCapture (sync iteration, views)
 *     beside a naive reader (read the whole file, copy every frame out,
 *     ids as strings, CRC checked), same file, runs interleaved, gc()
 *     before each; medians. Both validate every frame's CRC.
 *  2. `dump --json` (runDump, what the CLI runs) of the same capture to
 *     /dev/null in a child process: frames/s, median of the runs; and
 *     once of the 1 GiB capture below (the goal's own case).
 *  3. RSS growth while reading a 1 GiB capture (a child process of its
 *     own, gc() first, sampled every 64 Ki frames): peak minus before.
 *
 * Each rate is given per wall second and per CPU second (process.cpuUsage):
 * on a shared machine the second is the one that says what the code costs.
 *
 * The captures are generated in the OS temp dir and removed afterwards.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCapture } from '../../src/capture/read-capture.js';
import { encodeFrame } from '../../src/wire/encode.js';
import { collectGarbage, performance } from '../lib/gc.js';
import { fixed, median, percent, spread } from '../lib/stats.js';
import { BenchFailure, type SuiteOptions, type SuiteReport } from '../lib/suite.js';
import { markdownTable } from '../lib/table.js';
import { naiveRead } from './naive-reader.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const FULL = { inProcessBytes: 256 << 20, bigBytes: 1 << 30, repetitions: 5, dumpRuns: 3 };
// (1 GiB is read once for the RSS figure; the rates are per frame, so 256 MiB measures them as well.)
const QUICK = { inProcessBytes: 4 << 20, bigBytes: 8 << 20, repetitions: 1, dumpRuns: 1 };

/** Writes about `bytes` of 64-byte-payload frames (8-byte ids); returns the frame count. */
function writeCapture(file: string, bytes: number): { frames: number; bytes: number } {
  const block = Array.from({ length: 4096 }, (_, i) =>
    encodeFrame({ sourceId: `sensor-${i % 8}`, destId: 'ingest-a', timestamp: 1_700_000_000_000_000 + i, flags: i % 4, payload: Buffer.alloc(64, i) }),
  );
  const buf = Buffer.concat(block);
  const fd = fs.openSync(file, 'w');
  let written = 0;
  let frames = 0;
  while (written < bytes) {
    written += fs.writeSync(fd, buf);
    frames += block.length;
  }
  fs.closeSync(fd);
  return { frames, bytes: written };
}

function readerApi(file: string): number {
  let n = 0;
  let check = 0;
  for (const p of readCapture(file)) {
    n++;
    check += p.payloadLength;
  }
  if (check < 0) throw new Error('unreachable');
  return n;
}

/**
 * Runs a child; its result (JSON) comes back on fd 3, so its stdout can be
 * /dev/null: `dump` then writes to a file, as `node dist/cli.js dump ... >
 * /dev/null` does (synchronously), not to an async stream awaited per flush.
 */
function child<T>(args: string[]): Promise<T> {
  return new Promise((resolve, reject) => {
    const devNull = fs.openSync('/dev/null', 'w');
    const c = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', ...args], { cwd: ROOT, stdio: ['ignore', devNull, 'inherit', 'pipe'] });
    fs.closeSync(devNull);
    let out = '';
    const result = c.stdio[3] as NodeJS.ReadableStream;
    result.setEncoding('utf8');
    result.on('data', (s: string) => (out += s));
    c.on('error', reject);
    c.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as T) : reject(new BenchFailure(`${args.join(' ')} exited ${code}`))));
  });
}

export async function run(options: SuiteOptions): Promise<SuiteReport> {
  const plan = options.quick ? QUICK : FULL;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pkt-bench-reader-'));
  try {
    const small = path.join(dir, 'in-process.pkt');
    const smallInfo = writeCapture(small, plan.inProcessBytes);
    options.log(`reader: ${smallInfo.frames} frames, ${smallInfo.bytes} bytes in ${small}`);

    const contenders = [
      { name: 'readCapture (views)', run: () => readerApi(small) },
      { name: 'naive: read whole file, copy each frame', run: () => naiveRead(small) },
    ];
    const seconds = contenders.map(() => [] as number[]);
    const cpuSeconds = contenders.map(() => [] as number[]);
    for (const c of contenders) if (c.run() !== smallInfo.frames) throw new BenchFailure(`${c.name}: wrong frame count`); // warm-up and check
    for (let r = 0; r < plan.repetitions; r++) {
      for (let k = 0; k < contenders.length; k++) {
        const i = (k + r) % contenders.length;
        collectGarbage();
        const t = performance.now();
        const cpu = process.cpuUsage();
        const n = contenders[i].run();
        seconds[i].push((performance.now() - t) / 1000);
        const used = process.cpuUsage(cpu);
        cpuSeconds[i].push((used.user + used.system) / 1e6);
        if (n !== smallInfo.frames) throw new BenchFailure(`${contenders[i].name}: wrong frame count`);
      }
    }
    const mfps = seconds.map((s) => smallInfo.frames / median(s) / 1e6);
    const cpuMfps = cpuSeconds.map((s) => smallInfo.frames / median(s) / 1e6);

    const dumps: Array<{ wallSeconds: number; cpuSeconds: number }> = [];
    for (let r = 0; r < plan.dumpRuns; r++) {
      const d = await child<{ wallSeconds: number; cpuSeconds: number }>(['bench/reader/dump-child.ts', small]);
      dumps.push(d);
      options.log(`dump --json: ${fixed(d.wallSeconds, 2)} s wall, ${fixed(d.cpuSeconds, 2)} s CPU`);
    }
    fs.rmSync(small);
    const big = path.join(dir, 'big.pkt');
    const bigInfo = writeCapture(big, plan.bigBytes);
    options.log(`reader: ${bigInfo.frames} frames, ${bigInfo.bytes} bytes in ${big}`);
    const rss = await child<{ frames: number; growthBytes: number; beforeBytes: number }>(['bench/reader/rss-child.ts', big]);
    if (rss.frames !== bigInfo.frames) throw new BenchFailure('rss child: wrong frame count');
    // The goal's own case: dump --json of the whole big capture, once (page cache warm from the RSS run).
    const bigDump = await child<{ wallSeconds: number; cpuSeconds: number }>(['bench/reader/dump-child.ts', big]);
    options.log(`dump --json of ${bigInfo.bytes} bytes: ${fixed(bigDump.wallSeconds, 2)} s wall, ${fixed(bigDump.cpuSeconds, 2)} s CPU`);

    const dumpMfps = smallInfo.frames / median(dumps.map((d) => d.wallSeconds)) / 1e6;
    const dumpCpuMfps = smallInfo.frames / median(dumps.map((d) => d.cpuSeconds)) / 1e6;
    const rows = contenders.map((c, i) => [c.name, fixed(mfps[i], 2), fixed(cpuMfps[i], 2), percent(spread(seconds[i])), fixed(mfps[i] / mfps[1], 2)]);
    const markdown = [
      `### Capture reader (64 B payloads)`,
      '',
      `In process, ${fixed(smallInfo.bytes / 2 ** 20, 0)} MiB (${smallInfo.frames} frames, page cache warm), median of ${plan.repetitions}:`,
      '',
      markdownTable(['reader', 'M frames/s (wall)', 'M frames/CPU-s', 'spread', 'vs naive'], rows),
      '',
      `\`dump --json\` (runDump, base64 payloads) of the same ${fixed(smallInfo.bytes / 2 ** 20, 0)} MiB to /dev/null, median of ${plan.dumpRuns}: ` +
        `**${fixed(dumpMfps, 2)} M frames/s** wall, ${fixed(dumpCpuMfps, 2)} M frames per CPU second. ` +
        `Of the ${fixed(bigInfo.bytes / 2 ** 30, 2)} GiB capture, once: **${fixed(bigInfo.frames / bigDump.wallSeconds / 1e6, 2)} M frames/s** wall, ` +
        `${fixed(bigInfo.frames / bigDump.cpuSeconds / 1e6, 2)} M frames per CPU second (start-up included).`,
      '',
      `RSS growth reading ${fixed(bigInfo.bytes / 2 ** 30, 2)} GiB with readCapture: **${fixed(rss.growthBytes / 2 ** 20, 2)} MiB** (peak over ${fixed(rss.beforeBytes / 2 ** 20, 1)} MiB before).`,
    ].join('\n');
    return {
      markdown,
      json: {
        inProcess: { frames: smallInfo.frames, bytes: smallInfo.bytes, contenders: contenders.map((c, i) => ({ name: c.name, mfps: mfps[i], cpuMfps: cpuMfps[i], seconds: seconds[i], cpuSeconds: cpuSeconds[i] })) },
        dumpJson: { frames: smallInfo.frames, runs: dumps, mfps: dumpMfps, cpuMfps: dumpCpuMfps, big: { frames: bigInfo.frames, bytes: bigInfo.bytes, ...bigDump } },
        rss,
      },
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
