import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { parseLoadArgs } from '../../load/lib/args.js';
import { FrameCounter } from '../../load/lib/frame-counter.js';
import { generateFramePool, POOL_BUFFER_BYTES, type FramePoolOptions } from '../../load/lib/frame-pool.js';
import { Pacer } from '../../load/lib/pacer.js';
import { PoolCursor } from '../../load/lib/pool-cursor.js';
import { formatReport } from '../../load/lib/report.js';
import { runLoad } from '../../load/lib/run-load.js';
import { Flags } from '../../src/wire/constants.js';
import { startFakeAckServer } from '../helpers/fake-ack-server.js';
import { deadPort } from '../helpers/live-server.js';

const HOST = '127.0.0.1';
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

const POOL: FramePoolOptions = { count: 500, payloadMin: 0, payloadMax: 3000, sourceLen: 8, destLen: 5, seed: 42, corruptEvery: 0 };

/** What a counting server saw on one connection, checked independently of the load code. */
interface Seen {
  bytes: number;
  frames: number;
  badCrc: number;
  /** Bytes after the last whole frame (a torn frame), or of an unparsable rest. */
  leftover: number;
  raw: Buffer;
}

/** Walks the stream frame by frame, checking magic and CRC with zlib. */
function inspect(raw: Buffer): Seen {
  let at = 0;
  let frames = 0;
  let badCrc = 0;
  while (raw.length - at >= 12 && raw.readUInt32LE(at) === 0x00544b50) {
    const headerLen = raw.readUInt16LE(at + 6);
    const total = headerLen + raw.readUInt32LE(at + 8);
    if (raw.length - at < total) break;
    if (zlib.crc32(raw.subarray(at + headerLen, at + total)) !== raw.readUInt32LE(at + 12)) badCrc++;
    frames++;
    at += total;
  }
  return { bytes: raw.length, frames, badCrc, leftover: raw.length - at, raw };
}

/** A TCP server that records each connection until FIN; `ended(n)` resolves with n connections' results. */
async function countingServer(): Promise<{ port: number; ended(n: number): Promise<Seen[]> }> {
  const seen: Seen[] = [];
  const waiters: (() => void)[] = [];
  const server = net.createServer((socket) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => {});
    socket.on('end', () => {
      socket.end();
      seen.push(inspect(Buffer.concat(chunks)));
      for (const waiter of waiters.splice(0)) waiter();
    });
  });
  server.listen(0, HOST);
  await once(server, 'listening');
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  return {
    port: (server.address() as net.AddressInfo).port,
    ended: (n) =>
      new Promise((resolve) => {
        const check = (): void => (seen.length >= n ? resolve(seen) : void waiters.push(check));
        check();
      }),
  };
}


function sum(seen: Seen[], key: 'bytes' | 'frames' | 'badCrc' | 'leftover'): number {
  return seen.reduce((n, s) => n + s[key], 0);
}

describe('generateFramePool', () => {
  it('is deterministic by seed', () => {
    const a = generateFramePool(POOL);
    const b = generateFramePool(POOL);
    const c = generateFramePool({ ...POOL, seed: 43 });
    expect(Buffer.concat(a.buffers).equals(Buffer.concat(b.buffers))).toBe(true);
    expect(Buffer.concat(a.buffers).equals(Buffer.concat(c.buffers))).toBe(false);
  });

  it('lays out valid frames back to back in buffers of about 1 MiB', () => {
    const pool = generateFramePool({ ...POOL, count: 2000 });
    expect(pool.buffers.length).toBeGreaterThan(1);
    const problems: string[] = [];
    let frames = 0;
    let bytes = 0;
    pool.buffers.forEach((buf, i) => {
      const offsets = pool.offsets[i];
      if (buf.length > POOL_BUFFER_BYTES) problems.push(`buffer ${i} is ${buf.length} bytes`);
      if (offsets[0] !== 0 || offsets[offsets.length - 1] !== buf.length) problems.push(`buffer ${i}: offsets do not span it`);
      for (let k = 0; k + 1 < offsets.length; k++) {
        const at = offsets[k];
        const headerLen = buf.readUInt16LE(at + 6);
        const payloadLen = buf.readUInt32LE(at + 8);
        const checks = {
          magicAndVersion: buf.subarray(at, at + 5).equals(Buffer.from([0x50, 0x4b, 0x54, 0x00, 1])),
          headerLen: headerLen === 24 + 8 + 1 + 5 + 1,
          idTerminators: buf[at + 24 + 8] === 0 && buf[at + 24 + 8 + 1 + 5] === 0,
          payloadRange: payloadLen <= 3000,
          length: offsets[k + 1] - at === headerLen + payloadLen,
          crc: zlib.crc32(buf.subarray(at + headerLen, at + headerLen + payloadLen)) === buf.readUInt32LE(at + 12),
        };
        for (const [name, ok] of Object.entries(checks)) if (!ok) problems.push(`buffer ${i} frame ${k}: ${name}`);
        frames++;
      }
      bytes += buf.length;
    });
    expect(problems).toEqual([]);
    expect(frames).toBe(2000);
    expect(pool.frames).toBe(2000);
    expect(pool.bytes).toBe(bytes);
    expect(inspect(Buffer.concat(pool.buffers))).toMatchObject({ frames: 2000, badCrc: 0, leftover: 0 });
  });

  it('corrupts exactly every K-th frame', () => {
    const pool = generateFramePool({ ...POOL, count: 100, corruptEvery: 7 });
    const raw = Buffer.concat(pool.buffers);
    const bad: number[] = [];
    for (let at = 0, n = 1; at < raw.length; n++) {
      const headerLen = raw.readUInt16LE(at + 6);
      const end = at + headerLen + raw.readUInt32LE(at + 8);
      if (zlib.crc32(raw.subarray(at + headerLen, end)) !== raw.readUInt32LE(at + 12)) bad.push(n);
      at = end;
    }
    expect(bad).toEqual([7, 14, 21, 28, 35, 42, 49, 56, 63, 70, 77, 84, 91, 98]);
  });
});

describe('PoolCursor', () => {
  it('hands out runs of whole frames within the byte budget and cycles the pool', () => {
    const pool = generateFramePool({ ...POOL, count: 3000 });
    const cursor = new PoolCursor(pool);
    const runs: Buffer[] = [];
    let frames = 0;
    while (frames < 2 * pool.frames) {
      const run = cursor.next(100, 64 * 1024);
      expect(run.frames).toBeGreaterThan(0);
      expect(run.frames).toBeLessThanOrEqual(100);
      expect(run.bytes.length).toBeLessThanOrEqual(64 * 1024);
      frames += run.frames;
      runs.push(run.bytes);
    }
    const once = Buffer.concat(pool.buffers);
    expect(Buffer.concat(runs).equals(Buffer.concat([once, once]))).toBe(true);
  });

  it('returns one frame even when it is larger than the byte budget', () => {
    const pool = generateFramePool({ ...POOL, count: 3, payloadMin: 5000, payloadMax: 5000 });
    expect(new PoolCursor(pool).next(10, 100).frames).toBe(1);
  });
});

describe('Pacer', () => {
  it('spaces frames evenly from the start', () => {
    const pacer = new Pacer(1000, 50);
    expect(pacer.due(50)).toBe(1);
    expect(pacer.due(59.5)).toBe(10);
    expect(pacer.due(1050)).toBe(1001);
    expect(pacer.delayUntil(10, 55)).toBe(5);
    expect(pacer.delayUntil(3, 100)).toBe(0);
  });
});

describe('FrameCounter', () => {
  it('counts whole frames whatever the chunking, and stops at garbage', () => {
    const raw = Buffer.concat(generateFramePool({ ...POOL, count: 50 }).buffers);
    for (const size of [1, 7, 12, 13, 4096, raw.length]) {
      const counter = new FrameCounter();
      for (let at = 0; at < raw.length - 1; at += size) counter.push(raw.subarray(at, Math.min(at + size, raw.length - 1)));
      expect(counter.frames).toBe(49);
    }
    const counter = new FrameCounter();
    counter.push(Buffer.concat([raw, Buffer.alloc(100)]));
    expect(counter).toMatchObject({ frames: 50, framed: false });
  });
});

describe('parseLoadArgs', () => {
  it('applies the defaults', () => {
    expect(parseLoadArgs([])).toMatchObject({
      help: false,
      json: false,
      options: { host: '127.0.0.1', port: 7400, connections: 1, durationS: 10, payloadMin: 64, payloadMax: 64, sourceLen: 8, destLen: 8, rate: 0 },
    });
    expect(parseLoadArgs(['--packets', '5', '--payload-min', '1', '--payload-max', '9'])).toMatchObject({
      options: { packets: 5, durationS: undefined, payloadMin: 1, payloadMax: 9 },
    });
  });

  it.each([
    [['--port', 'x'], /--port must be an integer 1\.\.65535, got 'x'/],
    [['--packets', '5', '--duration', '1'], /--packets or --duration/],
    [['--payload', '5', '--payload-min', '1'], /not both/],
    [['--payload-min', '1'], /go together/],
    [['--payload-min', '9', '--payload-max', '1'], /must not exceed/],
    [['--replay', 'f', '--rate', '5'], /--replay .* --rate/],
    [['--nope'], /unknown option '--nope'/],
    [['stray'], /unexpected argument 'stray'/],
  ])('rejects %j', (argv, message) => {
    expect(() => parseLoadArgs(argv)).toThrow(UsageError);
    expect(() => parseLoadArgs(argv)).toThrow(message);
  });
});

describe('runLoad', () => {
  it('sends exactly --packets whole frames over all connections and reports the totals', async () => {
    const server = await countingServer();
    const report = await runLoad({ port: server.port, connections: 2, packets: 10_007, payloadMin: 0, payloadMax: 300, corruptEvery: 10 });
    const seen = await server.ended(2);
    expect(seen.map((s) => s.frames).sort()).toEqual([5003, 5004]);
    expect(sum(seen, 'leftover')).toBe(0);
    expect(report).toMatchObject({ packets: 10_007, bytes: sum(seen, 'bytes'), errors: 0, connections: 2, corrupted: 1000 });
    expect(sum(seen, 'badCrc')).toBe(1000);
    expect(report.seconds).toBeGreaterThan(0);
    expect((report.mpktPerSec * 1e6 * report.seconds) / report.packets).toBeCloseTo(1, 2);
  });

  it('cycles the pool when more frames are asked for than it holds', async () => {
    const server = await countingServer();
    const report = await runLoad({ port: server.port, packets: 3000, payloadMin: 16_384, payloadMax: 16_384 });
    const [seen] = await server.ended(1);
    expect(seen).toMatchObject({ frames: 3000, badCrc: 0, leftover: 0 });
    expect(report.bytes).toBe(seen.bytes);
  });

  it('stops at a frame boundary when the duration is up', async () => {
    const server = await countingServer();
    const report = await runLoad({ port: server.port, durationS: 0.2, payloadMin: 0, payloadMax: 2000 });
    const [seen] = await server.ended(1);
    expect(seen.leftover).toBe(0);
    expect(seen.frames).toBe(report.packets);
    expect(report.packets).toBeGreaterThan(0);
    expect(report.seconds).toBeGreaterThanOrEqual(0.2);
    expect(report.seconds).toBeLessThan(5);
  });

  it('roughly honours --rate', async () => {
    const server = await countingServer();
    // 300 frames at 2000/s over 2 connections: about 0.15 s; far faster without pacing.
    const report = await runLoad({ port: server.port, connections: 2, packets: 300, rate: 2000 });
    const seen = await server.ended(2);
    expect(sum(seen, 'frames')).toBe(300);
    expect(report.seconds).toBeGreaterThan(0.1);
    expect(report.seconds).toBeLessThan(3);
  });

  it('replays a capture file byte-exact on every connection', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pkt-load-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const capture = Buffer.concat(generateFramePool({ ...POOL, count: 300 }).buffers);
    const file = join(dir, 'capture.pkt');
    await writeFile(file, capture);
    const server = await countingServer();
    const report = await runLoad({ port: server.port, connections: 2, replay: file });
    const seen = await server.ended(2);
    for (const s of seen) expect(s.raw.equals(capture)).toBe(true);
    expect(report).toMatchObject({ packets: 600, bytes: 2 * capture.length, errors: 0 });
  });

  it('fails with a plain message when it cannot connect', async () => {
    const port = await deadPort(HOST);
    await expect(runLoad({ port, packets: 1 })).rejects.toThrow(`cannot connect to 127.0.0.1:${port}`);
  });
});

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[]): Promise<CliResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'load/loadgen.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('loadgen CLI', () => {
  it('--help prints the usage and exits 0', async () => {
    const result = await cli(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: npm run load/);
    expect(result.stdout).toContain('--corrupt-every');
  });

  it('a bad flag exits 2 with one plain line on stderr', async () => {
    const result = await cli(['--bogus']);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`loadgen: unknown option '--bogus' (see --help)\n`);
  });

  it('a missing --replay file exits 2', async () => {
    const result = await cli(['--replay', join(tmpdir(), 'no-such-capture.pkt')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^loadgen: cannot read --replay file .*ENOENT.*\n$/);
  });

  it('a refused connection exits 1 with one plain line on stderr', async () => {
    const port = await deadPort(HOST);
    const result = await cli(['--port', String(port), '--packets', '1']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`^loadgen: cannot connect to 127\\.0\\.0\\.1:${port}: .*ECONNREFUSED.*\\n$`));
  });

  it('--json prints one report object', async () => {
    const server = await countingServer();
    const result = await cli(['--port', String(server.port), '--packets', '1000', '--json']);
    expect(result.code).toBe(0);
    const [seen] = await server.ended(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ packets: 1000, bytes: seen.bytes, errors: 0 });
  });
});

describe('runLoad --acks', () => {
  it('sets ACK_REQUEST on every frame, waits for the ACKs and reports them with latencies', async () => {
    const server = await startFakeAckServer();
    try {
      const report = await runLoad({ port: server.port, connections: 2, packets: 3001, payloadMin: 10, payloadMax: 200, acks: true });
      const frames = server.all();
      expect(frames).toHaveLength(3001);
      expect(frames.every((f) => (f.flags & Flags.ACK_REQUEST) !== 0)).toBe(true);
      expect(report).toMatchObject({ packets: 3001, acked: 3001, errors: 0 });
      expect(report.ackP50Ms).toBeGreaterThan(0);
      expect(report.ackP99Ms).toBeGreaterThanOrEqual(report.ackP50Ms as number);
      expect(formatReport(report)).toMatch(/acked\s+3001/);
    } finally {
      await server.close();
    }
  });

  it('reports fewer acked frames when the server acknowledges only part', async () => {
    const server = await startFakeAckServer(() => ({ autoAck: false }));
    try {
      const run = runLoad({ port: server.port, packets: 100, payloadMin: 10, payloadMax: 10, acks: true });
      await server.until(() => server.all().length === 100);
      server.connections[0].ack(60);
      server.connections[0].socket.end(); // the load tool stops waiting when the server closes
      expect(await run).toMatchObject({ packets: 100, acked: 60 });
    } finally {
      await server.close();
    }
  });

  it('rejects --acks with --replay', () => {
    expect(() => parseLoadArgs(['--replay', 'f', '--acks'])).toThrow(/--acks/);
  });
});
