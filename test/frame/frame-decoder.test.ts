import CRC32 from 'crc-32';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrameDecoder, type DecoderLimits, type FrameSink } from '../../src/frame/frame-decoder.js';
import type { PacketView } from '../../src/frame/packet-view.js';
import type { OwnedPacket } from '../../src/handlers/types.js';
import type { FrameErrorReason } from '../../src/wire/reasons.js';
import { encodeFrame } from '../../src/wire/encode.js';
import { BAD_LIMITS, ID_REST, badCases } from '../helpers/bad-frames.js';
import { encodeStream, expectPacket, rawFrame, smallSpec, type FrameSpec } from '../helpers/frames.js';

const LIMITS: DecoderLimits = BAD_LIMITS;

class Sink implements FrameSink {
  readonly packets: OwnedPacket[] = [];
  onFrame(packet: PacketView): void {
    this.packets.push(packet.copy());
  }
}

const A = smallSpec(0);
const B = smallSpec(1);
const C = smallSpec(2);
/** Valid A and B, the bad frame, then valid C (absent after a cut-short bad frame). */
function streamWith(bad: Buffer, withTail: boolean): { bytes: Buffer; badAt: number; good: ReturnType<typeof encodeStream> } {
  const good = encodeStream([A, B]);
  const tail = withTail ? encodeFrame(C) : Buffer.alloc(0);
  return { bytes: Buffer.concat([good.bytes, bad, tail]), badAt: good.bytes.length, good };
}

describe('FrameDecoder', () => {
  it('decodes the frames of a buffer, returning the bytes of whole frames only', () => {
    const { bytes, frames, offsets } = encodeStream([A, B, C]);
    const decoder = new FrameDecoder(LIMITS);
    const sink = new Sink();
    const consumed = decoder.decode(bytes, 0, bytes.length - 1, sink);
    expect(consumed).toBe(offsets[2]);
    expect(sink.packets).toHaveLength(2);
    expect(decoder.need).toBe(frames[2].length);
    expect(decoder.decode(bytes, consumed, bytes.length, sink)).toBe(frames[2].length);
    [A, B, C].forEach((spec, i) => expectPacket(sink.packets[i], spec, frames[i], offsets[i]));
    expect(decoder.offset).toBe(bytes.length);
    expect(decoder.error).toBeNull();
  });

  it('asks for 24 bytes, then header_len, then the whole frame', () => {
    const spec: FrameSpec = { ...A, extensions: [{ type: 9, value: Buffer.alloc(12) }] };
    const frame = encodeFrame(spec);
    const headerLen = frame.readUInt16LE(6);
    const decoder = new FrameDecoder(LIMITS);
    const sink = new Sink();
    expect(decoder.decode(frame, 0, 10, sink)).toBe(0);
    expect(decoder.need).toBe(24);
    expect(decoder.decode(frame, 0, 24, sink)).toBe(0);
    expect(decoder.need).toBe(headerLen);
    expect(decoder.decode(frame, 0, headerLen, sink)).toBe(0);
    expect(decoder.need).toBe(frame.length);
    expect(decoder.decode(frame, 0, frame.length, sink)).toBe(frame.length);
    expect(sink.packets).toHaveLength(1);
  });

  it('decodes the same frames when the bytes arrive one at a time', () => {
    const { bytes, frames, offsets } = encodeStream([A, B, C]);
    const decoder = new FrameDecoder(LIMITS);
    const sink = new Sink();
    let p = 0;
    for (let end = 1; end <= bytes.length; end++) p += decoder.decode(bytes, p, end, sink);
    expect(p).toBe(bytes.length);
    [A, B, C].forEach((spec, i) => expectPacket(sink.packets[i], spec, frames[i], offsets[i]));
  });

  it('accepts header_len 26 exactly, header_len at the limit and payload_len at the limit', () => {
    const smallest = encodeFrame({ sourceId: '', destId: '', payload: Buffer.alloc(1000, 7) });
    expect(smallest.readUInt16LE(6)).toBe(26);
    const largest = encodeFrame({ sourceId: 'x'.repeat(230), destId: '', payload: Buffer.alloc(0) });
    expect(largest.readUInt16LE(6)).toBe(256);
    const bytes = Buffer.concat([smallest, largest]);
    const decoder = new FrameDecoder(LIMITS);
    const sink = new Sink();
    expect(decoder.decode(bytes, 0, bytes.length, sink)).toBe(bytes.length);
    expect(decoder.error).toBeNull();
    expect(sink.packets.map((p) => p.sourceId.length)).toEqual([0, 230]);
  });

  for (const c of badCases()) {
    it(`reports ${c.reason} for ${c.name} at its stream offset, after delivering every valid frame before it`, () => {
      const withTail = c.bad.length >= c.detectAt && c.reason !== 'frame_too_large';
      const { bytes, badAt, good } = streamWith(c.bad, withTail);
      const decoder = new FrameDecoder(LIMITS);
      const sink = new Sink();
      const consumed = decoder.decode(bytes, 0, bytes.length, sink);
      expect(consumed).toBe(badAt);
      expect(decoder.error).toBe(c.reason);
      expect(decoder.errorOffset).toBe(badAt);
      expect(sink.packets).toHaveLength(2);
      [A, B].forEach((spec, i) => expectPacket(sink.packets[i], spec, good.frames[i], good.offsets[i]));
      // While the error is set, decode does nothing.
      expect(decoder.decode(bytes, consumed, bytes.length, sink)).toBe(0);
      expect(sink.packets).toHaveLength(2);
    });

    it(`reports ${c.reason} for ${c.name} as soon as ${c.detectAt} of its bytes arrived, and not before`, () => {
      const { bytes, badAt } = streamWith(c.bad, false);
      const decoder = new FrameDecoder(LIMITS);
      const sink = new Sink();
      let p = 0;
      for (let end = 1; end <= badAt + c.detectAt; end++) {
        p += decoder.decode(bytes, p, end, sink);
        expect(decoder.error, `after ${end - badAt} bytes of the bad frame`).toBe(end === badAt + c.detectAt ? c.reason : null);
      }
      expect(p).toBe(badAt);
      expect(decoder.errorOffset).toBe(badAt);
      expect(sink.packets).toHaveLength(2);
    });
  }

  it('checks the fields in docs/protocol.md order: a frame with every fixed field wrong is bad_magic', () => {
    const bad = rawFrame({ rest: Buffer.from('ab'), version: 9, headerLen: 3, payloadLen: 0xffffffff });
    bad[0] = 0;
    const decoder = new FrameDecoder(LIMITS);
    decoder.decode(bad, 0, bad.length, new Sink());
    expect(decoder.error).toBe('bad_magic');
    bad[0] = 0x50;
    const next = new FrameDecoder(LIMITS);
    next.decode(bad, 0, bad.length, new Sink());
    expect(next.error).toBe('unsupported_version');
  });

  it('prefers unterminated_string over invalid_utf8 and invalid_utf8 over bad_extension', () => {
    const decode = (rest: number[]): FrameErrorReason | null => {
      const decoder = new FrameDecoder(LIMITS);
      const frame = rawFrame({ rest: Buffer.from(rest) });
      decoder.decode(frame, 0, frame.length, new Sink());
      return decoder.error;
    };
    expect(decode([0xff, 0, 0x62])).toBe('unterminated_string');
    expect(decode([0x61, 0, 0xff, 0, 7])).toBe('invalid_utf8');
    expect(decode([0x61, 0, 0x62, 0, 7])).toBe('bad_extension');
  });

  it('skips a frame with a wrong checksum whole and goes on with the next', () => {
    const payload = Buffer.from('xyz');
    const bad = rawFrame({ rest: ID_REST, payload, checksum: 1 });
    const { bytes, badAt } = streamWith(bad, true);
    const decoder = new FrameDecoder(LIMITS);
    const sink = new Sink();
    const consumed = decoder.decode(bytes, 0, bytes.length, sink);
    expect(decoder.error).toBe('crc_mismatch');
    const skip = decoder.skipFrame();
    expect(skip).toBe(bad.length);
    expect(decoder.error).toBeNull();
    expect(decoder.errorOffset).toBe(-1);
    expect(decoder.decode(bytes, consumed + skip, bytes.length, sink)).toBe(bytes.length - badAt - bad.length);
    expect(sink.packets).toHaveLength(3);
    expectPacket(sink.packets[2], C, encodeFrame(C), badAt + bad.length);
  });

  it('resyncs to the next magic after a frame that lost framing, and counts the skipped bytes in offsets', () => {
    for (const c of badCases().filter((x) => x.reason !== 'crc_mismatch' && x.reason !== 'frame_too_large')) {
      const { bytes, badAt } = streamWith(c.bad, true);
      const decoder = new FrameDecoder(LIMITS);
      const sink = new Sink();
      const consumed = decoder.decode(bytes, 0, bytes.length, sink);
      expect(decoder.error, c.name).toBe(c.reason);
      const skip = decoder.resync(bytes, consumed, bytes.length);
      expect(skip, c.name).toBe(c.bad.length);
      expect(decoder.error).toBeNull();
      expect(decoder.offset).toBe(badAt + c.bad.length);
      expect(decoder.decode(bytes, consumed + skip, bytes.length, sink)).toBe(bytes.length - badAt - c.bad.length);
      expectPacket(sink.packets[2], C, encodeFrame(C), badAt + c.bad.length);
    }
  });

  it('resyncs to a magic that starts one byte after the bad frame start', () => {
    const frame = encodeFrame(A);
    const bytes = Buffer.concat([Buffer.from('P'), frame]);
    const decoder = new FrameDecoder(LIMITS);
    const sink = new Sink();
    expect(decoder.decode(bytes, 0, bytes.length, sink)).toBe(0);
    expect(decoder.error).toBe('bad_magic');
    expect(decoder.errorOffset).toBe(0);
    expect(decoder.resync(bytes, 0, bytes.length)).toBe(1);
    expect(decoder.decode(bytes, 1, bytes.length, sink)).toBe(frame.length);
    expectPacket(sink.packets[0], A, frame, 1);
  });

  it('resyncs past everything when no magic follows, but stops at a magic prefix at the very end', () => {
    const decoder = new FrameDecoder(LIMITS);
    const junk = Buffer.from('XXPXPKXPKTXXXX');
    expect(decoder.resync(junk, 0, junk.length)).toBe(junk.length);
    expect(decoder.offset).toBe(junk.length);
    for (const end of ['P', 'PK', 'PKT']) {
      const b = Buffer.concat([Buffer.from('XPKXX'), Buffer.from(end)]);
      expect(decoder.resync(b, 0, b.length), end).toBe(5);
    }
    // Exactly one byte: skip it.
    expect(decoder.resync(Buffer.from('P'), 0, 1)).toBe(1);
  });

  it('never throws and always terminates on random and mutated streams, keeping offsets in step', () => {
    const mutated = fc
      .tuple(
        fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 4 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
      )
      .map(([ns, edits]) => {
        const b = encodeStream(ns.map((n) => smallSpec(n))).bytes;
        for (const [at, v] of edits) b[at % b.length] = v;
        return Uint8Array.from(b);
      });
    const streams = fc.oneof(fc.uint8Array({ maxLength: 300 }), mutated);
    fc.assert(
      fc.property(streams, fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 8 }), (arr, cuts) => {
        const bytes = Buffer.from(arr);
        const decoder = new FrameDecoder(LIMITS);
        const seen: number[] = [];
        const sink: FrameSink = {
          onFrame(view) {
            seen.push(view.offset);
            expect(view.checksum).toBe(CRC32.buf(view.payload) >>> 0);
          },
        };
        let p = 0;
        let end = 0;
        let k = 0;
        let steps = 0;
        while (p < bytes.length) {
          if (++steps > 10 * bytes.length + 100) throw new Error('decoding does not terminate');
          const before = p;
          end = Math.min(bytes.length, end + cuts[k++ % cuts.length]);
          p += decoder.decode(bytes, p, end, sink);
          if (decoder.error !== null) p += decoder.error === 'crc_mismatch' ? decoder.skipFrame() : decoder.resync(bytes, p, end);
          expect(decoder.offset).toBe(p);
          expect(p).toBeLessThanOrEqual(end);
          if (end === bytes.length && p === before) break; // the stream ends inside a frame
        }
        expect([...seen].sort((x, y) => x - y)).toEqual(seen);
      }),
      { numRuns: 1500 },
    );
  });
});
