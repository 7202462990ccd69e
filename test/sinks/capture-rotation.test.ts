/**
 * Rotation at frame granularity (CONTRACT.md, capture): a rotated file ends
 * within one frame of rotateBytes (only a single frame larger than
 * rotateBytes makes a file exceed it), whole frames only, and the files
 * left (oldest rotated first, then the live one) are the stream's suffix.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/wire/encode.js';
import { splitFrames } from '../handlers/drive.js';
import { captureKit } from './capture-kit.js';

const kit = captureKit();

const frameOf = (i: number, payload: number) =>
  encodeFrame({ sourceId: `s${i % 7}`, destId: 'd', payload: Buffer.alloc(payload, i & 0xff), timestamp: i });

describe('rotation at frame granularity', () => {
  it('every rotated file ends within one frame of rotateBytes; the files are the stream suffix, whole frames', async () => {
    let run = 0;
    let worstGap = 0; // largest rotateBytes - size of a rotated file, as a share of the frame that went on
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 3000 }), { minLength: 1, maxLength: 60 }),
        fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 40, max: 12_000 }),
        fc.integer({ min: 0, max: 4 }),
        fc.boolean(),
        async (payloads, groups, rotateBytes, keepFiles, concurrent) => {
          const path = join(kit.dir, `run${run++}`, 'cap.pkt');
          const file = await kit.open({ path, rotateBytes, keepFiles });
          const all = payloads.map((p, i) => frameOf(i, p));
          const appends: Buffer[][] = [];
          for (let at = 0, g = 0; at < all.length; at += groups[g++ % groups.length]) appends.push(all.slice(at, at + groups[g % groups.length]));
          if (concurrent) await Promise.all(appends.map((a) => file.append(a))); // coalesced writes
          else for (const a of appends) await file.append(a);
          await file.close();

          const kept = Math.min(file.rotations, keepFiles);
          expect(existsSync(`${path}.${kept + 1}`)).toBe(false);
          const names = [...Array.from({ length: kept }, (_, k) => `${path}.${kept - k}`), path];
          const parts = names.map((n) => readFileSync(n));
          const split = parts.map((p) => splitFrames(p)); // whole frames only (throws on a torn one)
          for (let k = 0; k < parts.length; k++) {
            const size = parts[k].length;
            if (split[k].length > 1) expect(size).toBeLessThanOrEqual(rotateBytes);
            if (k === parts.length - 1) continue; // the live file is not rotated yet
            const next = split[k + 1][0].length; // the frame that did not fit
            expect(size + next).toBeGreaterThan(rotateBytes);
            if (size <= rotateBytes) worstGap = Math.max(worstGap, (rotateBytes - size) / next);
          }
          const stream = Buffer.concat(all);
          const kept_ = Buffer.concat(parts);
          expect(kept_.equals(stream.subarray(stream.length - kept_.length))).toBe(true);
          if (file.rotations <= keepFiles) expect(kept_.length).toBe(stream.length);
        },
      ),
      { numRuns: 80 },
    );
    expect(worstGap).toBeLessThan(1);
    console.log(`rotation property: ${run} runs, worst rotated-file gap to rotateBytes ${(worstGap * 100).toFixed(1)}% of the next frame`);
  });

  it('keepFiles 0 deletes the rotated file; the live file starts at the frame that did not fit', async () => {
    const all = Array.from({ length: 5 }, (_, i) => frameOf(i, 70));
    const file = await kit.open({ rotateBytes: all[0].length * 2 + 10, keepFiles: 0 });
    await file.append(all);
    expect(file.rotations).toBe(2);
    expect(readFileSync(join(kit.dir, 'cap.pkt')).equals(all[4])).toBe(true);
    expect(existsSync(join(kit.dir, 'cap.pkt.1'))).toBe(false);
  });
});
