import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { CaptureFrameError } from '../../src/capture/errors.js';
import { readCapture } from '../../src/capture/read-capture.js';
import type { OwnedPacket } from '../../src/handlers/types.js';
import { encodeFrame } from '../../src/wire/encode.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'pkt-read-'));
  dirs.push(d);
  return d;
}

function frame(i: number, payloadBytes = i % 300): Buffer {
  return encodeFrame({ sourceId: `s${i % 5}`, destId: 'd', timestamp: 1_700_000_000_000_000 + i, payload: Buffer.alloc(payloadBytes, i & 0xff) });
}

describe('readCapture', () => {
  it('yields every frame byte-exact, with file offsets, through a ring much smaller than the file', () => {
    const frames = Array.from({ length: 2000 }, (_, i) => frame(i));
    const file = path.join(tempDir(), 'c.pkt');
    fs.writeFileSync(file, Buffer.concat(frames));
    let i = 0;
    let offset = 0;
    for (const p of readCapture(file, { ringBytes: 4096 })) {
      expect(p.frame.equals(frames[i])).toBe(true);
      expect(p.offset).toBe(offset);
      offset += frames[i].length;
      i++;
    }
    expect(i).toBe(frames.length);
  });

  it('reads a frame larger than the ring through its own buffer', async () => {
    const frames = [frame(1), frame(2, 100_000), frame(3)];
    const file = path.join(tempDir(), 'c.pkt');
    fs.writeFileSync(file, Buffer.concat(frames));
    const seen: Buffer[] = [];
    for await (const p of readCapture(file, { ringBytes: 4096 })) seen.push(Buffer.from(p.frame));
    expect(seen).toEqual(frames);
  });

  it('reads frames larger than one decode batch but smaller than the ring, among small ones', () => {
    const frames = [frame(1), frame(2, 200_000), frame(3), frame(4, 500_000), frame(5)];
    const file = path.join(tempDir(), 'c.pkt');
    fs.writeFileSync(file, Buffer.concat(frames));
    const seen: Buffer[] = [];
    for (const p of readCapture(file)) seen.push(Buffer.from(p.frame));
    expect(seen).toEqual(frames);
  });

  it('a view is valid until the next step; copy() keeps it', () => {
    const frames = Array.from({ length: 50 }, (_, i) => frame(i, 64));
    const file = path.join(tempDir(), 'c.pkt');
    fs.writeFileSync(file, Buffer.concat(frames));
    const kept: OwnedPacket[] = [];
    for (const p of readCapture(file, { ringBytes: 1024 })) kept.push(p.copy());
    expect(kept.map((k) => k.frame)).toEqual(frames);
  });

  it('a capture path alone reads path.N ... path.1, then path; an array is read as given', () => {
    const dir = tempDir();
    const live = path.join(dir, 'capture.pkt');
    fs.writeFileSync(`${live}.2`, frame(1));
    fs.writeFileSync(`${live}.1`, frame(2));
    fs.writeFileSync(live, frame(3));
    fs.writeFileSync(`${live}.x`, frame(9)); // not a rotation suffix
    const order = (src: string | string[]): number[] => {
      const out: number[] = [];
      for (const p of readCapture(src)) out.push(p.timestamp - 1_700_000_000_000_000); // views are reused: read them in the loop
      return out;
    };
    expect(order(live)).toEqual([1, 2, 3]);
    expect(order([live, `${live}.2`])).toEqual([3, 1]);
    expect(order([live])).toEqual([3]);
  });

  it('throws at the first invalid frame, after the frames before it', () => {
    const bad = frame(2, 10);
    bad[bad.length - 1] ^= 0xff; // payload no longer matches its CRC
    const file = path.join(tempDir(), 'c.pkt');
    fs.writeFileSync(file, Buffer.concat([frame(1), bad, frame(3)]));
    const seen: number[] = [];
    expect(() => {
      for (const p of readCapture(file)) seen.push(p.offset);
    }).toThrow(/invalid frame at byte offset \d+: crc_mismatch/);
    expect(seen).toEqual([0]);
  });

  it('with onFrameError: reports and skips (resync), and a torn tail is truncated', () => {
    const first = frame(1);
    const garbage = Buffer.from('garbage!');
    const last = frame(3);
    const file = path.join(tempDir(), 'c.pkt');
    fs.writeFileSync(file, Buffer.concat([first, garbage, frame(2), last.subarray(0, 20)]));
    const errors: Array<[string, number]> = [];
    const seen = [...readCapture(file, { onFrameError: (e: CaptureFrameError) => errors.push([e.reason, e.offset]) })].length;
    expect(seen).toBe(2);
    expect(errors).toEqual([
      ['bad_magic', first.length],
      ['truncated', first.length + garbage.length + frame(2).length],
    ]);
  });

  it('an empty file yields nothing; a missing one throws ENOENT', () => {
    const file = path.join(tempDir(), 'c.pkt');
    fs.writeFileSync(file, '');
    expect([...readCapture(file)]).toEqual([]);
    expect(() => [...readCapture(path.join(path.dirname(file), 'none.pkt'))]).toThrow(/ENOENT/);
  });

  it('follow: waits for frames appended later and for the live file to rotate, ending on abort', async () => {
    const dir = tempDir();
    const live = path.join(dir, 'capture.pkt');
    fs.writeFileSync(live, frame(0));
    const stop = new AbortController();
    const seen: number[] = [];
    const reader = readCapture(live, { follow: true, signal: stop.signal, pollIntervalMs: 20 });
    const writer = (async () => {
      for (let i = 1; i <= 30; i++) {
        // Wait until the reader has what is there, so each step exercises a wait.
        while (seen.length < i) await new Promise((r) => setTimeout(r, 2));
        if (i % 10 === 0) {
          fs.appendFileSync(live, frame(i)); // the last frame of the old file, then rotate
          fs.renameSync(live, `${live}.1`);
          fs.writeFileSync(live, '');
        } else fs.appendFileSync(live, frame(i));
      }
    })();
    for await (const p of reader) {
      seen.push(p.timestamp - 1_700_000_000_000_000);
      if (seen.length === 31) stop.abort();
    }
    await writer;
    expect(seen).toEqual(Array.from({ length: 31 }, (_, i) => i));
  });
});
