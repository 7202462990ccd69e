/**
 * The direct `dump --json` writer against the obvious string version:
 * random frames (ids with quotes, backslashes, control and non-ASCII
 * characters; timestamps past 2^53; extensions; payloads of every length
 * mod 3 for base64 padding), every encoding, each line parsed back.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { readCapture } from '../../src/capture/read-capture.js';
import { extensionName } from '../../src/cli/dump-format.js';
import { JsonLineWriter } from '../../src/cli/json-line-writer.js';
import type { PayloadEncoding } from '../../src/cli/tool-args.js';
import { encodeFrame, type FrameInput } from '../../src/wire/encode.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pkt-json-writer-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const id = fc.string({ unit: fc.oneof(fc.constantFrom('"', '\\', '\n', '\u0001', '\u007f', 'é', '😀'), fc.string({ minLength: 1, maxLength: 1 })), minLength: 1, maxLength: 12 });
const frameInput: fc.Arbitrary<FrameInput> = fc.record({
  sourceId: id,
  destId: id,
  timestamp: fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.constantFrom(0n, 9n, 2n ** 31n, 2n ** 53n - 1n, 2n ** 53n, 1_700_000_000_000_000n)),
  flags: fc.integer({ min: 0, max: 15 }),
  payload: fc.uint8Array({ maxLength: 40 }),
  extensions: fc.array(fc.record({ type: fc.integer({ min: 1, max: 255 }), value: fc.uint8Array({ maxLength: 6 }) }), { maxLength: 3 }),
});

function expected(frame: FrameInput, offset: number, encoding: PayloadEncoding): unknown {
  const payload = Buffer.from(frame.payload);
  return {
    offset,
    version: 1,
    flags: frame.flags,
    timestamp: (frame.timestamp as bigint).toString(),
    sourceId: frame.sourceId,
    destId: frame.destId,
    extensions: (frame.extensions ?? []).map((e) => ({ type: e.type, name: extensionName(e.type), value: Buffer.from(e.value).toString('hex') })),
    payloadLength: payload.length,
    payload: encoding === 'none' ? null : payload.toString(encoding),
  };
}

/** JSON.parse with the timestamp kept exact (it may pass 2^53). */
function parse(line: string): Record<string, unknown> {
  return JSON.parse(line.replace(/"timestamp":(\d+)/, '"timestamp":"$1"')) as Record<string, unknown>;
}

describe('JsonLineWriter', () => {
  for (const encoding of ['base64', 'hex', 'utf8', 'none'] as const) {
    it(`writes each frame's line as the fields say (${encoding})`, () => {
      let run = 0;
      fc.assert(
        fc.property(fc.array(frameInput, { minLength: 1, maxLength: 8 }), (frames) => {
          const file = path.join(dir, `${encoding}-${run++}.pkt`);
          const encoded = frames.map((f) => encodeFrame(f));
          fs.writeFileSync(file, Buffer.concat(encoded));
          const writer = new JsonLineWriter(encoding);
          let offset = 0;
          let k = 0;
          for (const view of readCapture(file)) {
            const out = Buffer.alloc(writer.bound(view));
            const end = writer.write(view, out, 0);
            const line = out.toString('utf8', 0, end);
            expect(line.endsWith('}\n')).toBe(true);
            const got = parse(line);
            const want = expected(frames[k], offset, encoding) as Record<string, unknown>;
            if (encoding === 'utf8') want.payload = Buffer.from(frames[k].payload).toString('utf8');
            expect(got).toEqual(want);
            offset += encoded[k].length;
            k++;
          }
          expect(k).toBe(frames.length);
        }),
        { numRuns: 60 },
      );
    });
  }

  it('writes at an offset into a shared buffer and leaves the bytes before it alone', () => {
    const file = path.join(dir, 'offset.pkt');
    fs.writeFileSync(file, encodeFrame({ sourceId: 'a', destId: 'b', timestamp: 5, payload: Buffer.from('hi') }));
    const writer = new JsonLineWriter('hex');
    const out = Buffer.alloc(4096, 0x2a);
    for (const view of readCapture(file)) {
      const end = writer.write(view, out, 10);
      expect(out.toString('latin1', 0, 10)).toBe('*'.repeat(10));
      expect(out.toString('utf8', 10, end)).toBe(
        '{"offset":0,"version":1,"flags":0,"timestamp":5,"sourceId":"a","destId":"b","extensions":[],"payloadLength":2,"payload":"6869"}\n',
      );
      expect(end - 10).toBeLessThanOrEqual(writer.bound(view));
    }
  });
});
