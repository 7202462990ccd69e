import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { runDump } from '../../src/cli/dump.js';
import type { DumpCommand } from '../../src/cli/tool-args.js';
import { Producer } from '../../src/producer/producer.js';
import { encodeFrame } from '../../src/wire/encode.js';
import { startServer, type LiveServer } from '../helpers/live-server.js';

/** WIRE.md's reference vector: source a, dest b, payload hello, flags 0, timestamp 1700000000000000. */
const REFERENCE = Buffer.from('504b5400 01001c00 05000000 86a61036 00401e18 240a0600 61006200 68656c6c 6f'.replace(/ /g, ''), 'hex');

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
function tempFile(name: string, bytes: Buffer): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pkt-dump-'));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, name);
  fs.writeFileSync(file, bytes);
  return file;
}

function sink(): { out: PassThrough; text: () => string } {
  const out = new PassThrough();
  let text = '';
  out.setEncoding('utf8').on('data', (s: string) => (text += s));
  return { out, text: () => text };
}

async function dump(files: string[], flags: Partial<DumpCommand> = {}) {
  const o = sink();
  const e = sink();
  const code = await runDump({ kind: 'dump', files, json: false, follow: false, ...flags }, { out: o.out, err: e.out });
  return { code, stdout: o.text(), stderr: e.text() };
}

describe('dump', () => {
  it('prints the WIRE.md reference vector as a readable line', async () => {
    const r = await dump([tempFile('ref.pkt', REFERENCE)]);
    expect(r).toEqual({ code: 0, stdout: '0  2023-11-14T22:13:20.000000Z  a -> b  flags=-  ext=-  5 B  "hello"\n', stderr: '' });
  });

  it('--json: exactly the contract fields, base64 payload by default, the chosen encoding otherwise', async () => {
    const file = tempFile('ref.pkt', REFERENCE);
    const r = await dump([file], { json: true });
    expect(r.code).toBe(0);
    const obj = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(obj).toEqual({
      offset: 0,
      version: 1,
      flags: 0,
      timestamp: 1700000000000000,
      sourceId: 'a',
      destId: 'b',
      extensions: [],
      payloadLength: 5,
      payload: 'aGVsbG8=',
    });
    expect(Object.keys(obj)).toEqual(['offset', 'version', 'flags', 'timestamp', 'sourceId', 'destId', 'extensions', 'payloadLength', 'payload']);
    expect(JSON.parse((await dump([file], { json: true, payload: 'hex' })).stdout).payload).toBe('68656c6c6f');
    expect(JSON.parse((await dump([file], { json: true, payload: 'utf8' })).stdout).payload).toBe('hello');
    expect(JSON.parse((await dump([file], { json: true, payload: 'none' })).stdout).payload).toBeNull();
    expect((await dump([file], { payload: 'none' })).stdout).toBe('0  2023-11-14T22:13:20.000000Z  a -> b  flags=-  ext=-  5 B\n');
  });

  it('names flags and extensions; filters by source and dest; stops at --limit', async () => {
    const frames = [
      encodeFrame({ sourceId: 'x', destId: 'y', timestamp: 1, flags: 0x04 | 0x08 | 0x80, payload: Buffer.from('a\nb'), extensions: [{ type: 5, value: Buffer.alloc(24) }, { type: 0x81, value: Buffer.from('z') }] }),
      encodeFrame({ sourceId: 'x', destId: 'q', timestamp: 2, payload: Buffer.alloc(0) }),
      encodeFrame({ sourceId: 'w', destId: 'y', timestamp: 3, payload: Buffer.alloc(0) }),
      encodeFrame({ sourceId: 'x', destId: 'y', timestamp: 4, payload: Buffer.alloc(0) }),
    ];
    const file = tempFile('c.pkt', Buffer.concat(frames));
    const all = await dump([file]);
    expect(all.stdout.split('\n')[0]).toBe('0  1970-01-01T00:00:00.000001Z  x -> y  flags=PRIORITY|FRAGMENT|0x80  ext=sequence[24],custom129[1]  3 B  "a\\x0ab"');
    const json = JSON.parse((await dump([file], { json: true })).stdout.split('\n')[0]) as { flags: number; extensions: unknown[] };
    expect(json.flags).toBe(0x8c);
    expect(json.extensions).toEqual([
      { type: 5, name: 'sequence', value: '00'.repeat(24) },
      { type: 0x81, name: 'custom129', value: '7a' },
    ]);
    const ts = (out: string) => out.trim().split('\n').map((l) => (JSON.parse(l) as { timestamp: number }).timestamp);
    expect(ts((await dump([file], { json: true, source: 'x' })).stdout)).toEqual([1, 2, 4]);
    expect(ts((await dump([file], { json: true, source: 'x', dest: 'y' })).stdout)).toEqual([1, 4]);
    expect(ts((await dump([file], { json: true, limit: 2 })).stdout)).toEqual([1, 2]);
  });

  it('exit 1 at the first invalid frame, after printing the frames before it; exit 2 for a missing file', async () => {
    const bad = Buffer.from(REFERENCE);
    bad[bad.length - 1] ^= 1;
    const file = tempFile('c.pkt', Buffer.concat([REFERENCE, bad, REFERENCE]));
    const r = await dump([file]);
    expect(r.code).toBe(1);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toBe(`pkt-ingest: dump: ${file}: invalid frame at byte offset 33: crc_mismatch\n`);
    const missing = await dump([path.join(path.dirname(file), 'none.pkt')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no such file: .*none\.pkt/);
  });

  it('a closed output (| head) ends the run quietly with exit 0', async () => {
    const frames = Array.from({ length: 20_000 }, (_, i) => encodeFrame({ sourceId: 's', destId: 'd', timestamp: i, payload: Buffer.alloc(64) }));
    const file = tempFile('c.pkt', Buffer.concat(frames));
    let writes = 0;
    const out = new Writable({
      write(_chunk, _enc, cb) {
        writes++;
        const err = Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
        cb(err);
      },
    });
    const e = sink();
    const code = await runDump({ kind: 'dump', files: [file], json: true, follow: false }, { out, err: e.out });
    expect(code).toBe(0);
    expect(e.text()).toBe('');
    expect(writes).toBe(1); // big writes, and none after the pipe closed
  });
});

describe('dump --follow', () => {
  let live: LiveServer;
  it('follows a capture across rotations while a server writes: every frame once, in order', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pkt-follow-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const livePath = path.join(dir, 'capture.pkt');
    live = await startServer({ handlers: [{ type: 'capture', path: livePath, fsync: 'never', rotateBytes: 64 * 1024, keepFiles: 20 }] });
    cleanups.push(() => live.stop());
    const total = 3000;
    const stop = new AbortController();
    const o = sink();
    let lines = 0;
    o.out.on('data', (s: string) => {
      lines += s.split('\n').length - 1;
      if (lines >= total) stop.abort();
    });
    const dumping = runDump({ kind: 'dump', files: [livePath], json: true, payload: 'none', follow: true }, { out: o.out, err: sink().out, signal: stop.signal });
    const producer = new Producer({ host: '127.0.0.1', port: live.tcpPort });
    await producer.connect();
    for (let i = 0; i < total; i++) {
      if (!producer.send({ sourceId: 'p', destId: 'd', timestamp: i + 1, payload: Buffer.alloc(100, i) })) await producer.drain();
      if (i % 500 === 499) await new Promise((r) => setTimeout(r, 20)); // let rotations happen mid-follow
    }
    await producer.close();
    expect(await dumping).toBe(0);
    const stamps = o.text().trim().split('\n').map((l) => (JSON.parse(l) as { timestamp: number }).timestamp);
    expect(stamps).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    const rotated = fs.readdirSync(path.dirname(livePath)).filter((f) => /^capture\.pkt\.\d+$/.test(f));
    expect(rotated.length).toBeGreaterThan(2); // the follow really crossed rotations
  });
});
