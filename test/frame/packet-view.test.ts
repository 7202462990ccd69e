import { describe, expect, it } from 'vitest';
import { FrameDecoder } from '../../src/frame/frame-decoder.js';
import type { PacketView } from '../../src/frame/packet-view.js';
import { encodeFrame } from '../../src/wire/encode.js';
import { encodeStream, expectPacket, type FrameSpec } from '../helpers/frames.js';

const LIMITS = { maxPayloadBytes: 1 << 16, maxHeaderBytes: 1024 };

function spec(sourceId: string, destId: string, n = 0): FrameSpec {
  return {
    sourceId,
    destId,
    payload: Buffer.from(`payload-${n}`),
    timestamp: 1_700_000_000_000_000n + BigInt(n),
    flags: 0x80 | n,
    extensions: [
      { type: 0x03, value: Buffer.from([n]) },
      { type: 0x55, value: Buffer.alloc(0) },
      { type: 0xfe, value: Buffer.from('custom') },
    ],
  };
}

/** Decodes `specs` one frame per decode call; `onFrame` sees each view as delivered. */
function decodeEach(decoder: FrameDecoder, bytes: Buffer, onFrame: (view: PacketView, i: number) => void): void {
  let i = 0;
  let p = 0;
  const sink = { onFrame: (view: PacketView) => onFrame(view, i++) };
  // Feed a growing range so frames are delivered one call at a time.
  for (let end = 1; end <= bytes.length; end++) p += decoder.decode(bytes, p, end, sink);
  expect(p).toBe(bytes.length);
}

describe('PacketView', () => {
  it('exposes every field of the frame it was filled with', () => {
    const s = spec('sensør-🚀', 'dest', 3);
    const frame = encodeFrame(s);
    const bytes = Buffer.concat([Buffer.alloc(5, 0xaa), frame]);
    const decoder = new FrameDecoder(LIMITS);
    let view: PacketView | null = null;
    decoder.decode(bytes, 5, bytes.length, { onFrame: (v) => (view = v) });
    const v = view as unknown as PacketView;
    expectPacket(v, s, frame, 0);
    expect(v.buffer).toBe(bytes);
    expect(v.frameStart).toBe(5);
    expect(v.frameLength).toBe(frame.length);
    expect(v.headerLength).toBe(frame.readUInt16LE(6));
    expect(v.payloadLength).toBe(s.payload.length);
    expect(v.checksum).toBe(frame.readUInt32LE(12));
    expect(v.sourceIdBytes.equals(Buffer.from('sensør-🚀'))).toBe(true);
    expect(v.destIdBytes.equals(Buffer.from('dest'))).toBe(true);
  });

  it('reads the ring lazily: getters see the bytes as they are when called, through views', () => {
    const s = spec('a', 'b', 1);
    const bytes = encodeFrame(s);
    const decoder = new FrameDecoder(LIMITS);
    let view: PacketView | null = null;
    decoder.decode(bytes, 0, bytes.length, { onFrame: (v) => (view = v) });
    const v = view as unknown as PacketView;
    const payload = v.payload;
    expect(payload.buffer).toBe(bytes.buffer);
    expect(payload.byteOffset).toBe(bytes.byteOffset + v.headerLength);
    expect([...v.extensions()][2].value.buffer).toBe(bytes.buffer);
    bytes[5] = 0x0f;
    bytes[v.headerLength] ^= 0xff;
    expect(v.flags).toBe(0x0f);
    expect(payload[0]).toBe(s.payload[0] ^ 0xff);
    expect(v.payload[0]).toBe(s.payload[0] ^ 0xff);
  });

  it('reads u64 timestamps exactly as a bigint and as the nearest number', () => {
    const ts = 0xffff_ffff_ffff_fff0n;
    const bytes = encodeFrame({ ...spec('a', 'b'), timestamp: ts });
    const decoder = new FrameDecoder(LIMITS);
    let view: PacketView | null = null;
    decoder.decode(bytes, 0, bytes.length, { onFrame: (v) => (view = v) });
    const v = view as unknown as PacketView;
    expect(v.timestampBigInt).toBe(ts);
    expect(v.timestamp).toBe(Number(ts));
  });

  it('lists extensions in wire order, unknown and custom types included', () => {
    const s = spec('a', 'b', 7);
    const bytes = encodeFrame(s);
    const decoder = new FrameDecoder(LIMITS);
    let types: number[] = [];
    decoder.decode(bytes, 0, bytes.length, { onFrame: (v) => (types = [...v.extensions()].map((e) => e.type)) });
    expect(types).toEqual([0x03, 0x55, 0xfe]);
  });

  it('gives copy() its own bytes: overwriting the ring afterwards does not change the copy', () => {
    const s = spec('sensør', '🚀', 2);
    const frame = encodeFrame(s);
    const bytes = Buffer.concat([Buffer.alloc(3), frame]);
    const decoder = new FrameDecoder(LIMITS);
    let copy: ReturnType<PacketView['copy']> | null = null;
    decoder.decode(bytes, 3, bytes.length, { onFrame: (v) => (copy = v.copy()) });
    const c = copy as unknown as ReturnType<PacketView['copy']>;
    bytes.fill(0xee);
    expectPacket(c, s, frame, 0);
    // Small buffers may share Node's pool slab, so ownership is shown by the overwrite above.
    expect(c.checksum).toBe(frame.readUInt32LE(12));
  });

  it('reuses one view for frame after frame until it is detached', () => {
    const { bytes } = encodeStream([spec('a', 'b', 1), spec('a', 'b', 2), spec('a', 'b', 3)]);
    const decoder = new FrameDecoder(LIMITS);
    const views: PacketView[] = [];
    decodeEach(decoder, bytes, (v, i) => {
      views.push(v);
      if (i === 1) decoder.detachView();
    });
    expect(views[0]).toBe(views[1]);
    expect(views[2]).not.toBe(views[1]);
  });

  it('serves a repeated id from the id cache instead of decoding the frame bytes again', () => {
    const { bytes, offsets } = encodeStream([spec('sensor-1', 'dest', 1), spec('sensor-1', 'dest', 2)]);
    const decoder = new FrameDecoder(LIMITS);
    const ids: string[] = [];
    decodeEach(decoder, bytes, (v, i) => {
      ids.push(v.sourceId);
      if (i === 1) {
        // Corrupt the second frame's source id bytes in place: the cached string is still served.
        bytes.fill(0x58, v.sourceIdBytes.byteOffset - bytes.byteOffset, v.sourceIdBytes.byteOffset - bytes.byteOffset + 8);
        ids.push(v.sourceId, v.sourceIdBytes.toString());
        expect(v.offset).toBe(offsets[1]);
      }
    });
    expect(ids).toEqual(['sensor-1', 'sensor-1', 'sensor-1', 'XXXXXXXX']);
  });

  it('keeps its own ids in a detached view after later frames change the id cache', () => {
    const specs = [spec('alpha', 'to-α', 1), spec('beta', 'to-β', 2), spec('alpha', 'to-α', 3), spec('gämma-😀', 'to-γ', 4)];
    const { bytes, frames, offsets } = encodeStream(specs);
    const decoder = new FrameDecoder(LIMITS);
    const held: PacketView[] = [];
    decodeEach(decoder, bytes, (v) => {
      held.push(v);
      decoder.detachView();
    });
    expect(new Set(held).size).toBe(4);
    // Read only now, after the cache moved on to the last frame's ids.
    held.forEach((v, i) => expectPacket(v, specs[i], frames[i], offsets[i]));
    expect(held.map((v) => v.copy().sourceId)).toEqual(['alpha', 'beta', 'alpha', 'gämma-😀']);
  });

  it('keeps its own ids in a detached view after a rejected frame changed the id cache', () => {
    const first = encodeFrame(spec('alpha', 'x', 1));
    // Valid ids that reach the cache, then a bad extension rejects the frame.
    const bad = Buffer.from(encodeFrame({ ...spec('omega', 'y', 2), extensions: [] }));
    const badHeader = bad.readUInt16LE(6);
    const widened = Buffer.concat([bad.subarray(0, badHeader), Buffer.from([7]), bad.subarray(badHeader)]);
    widened.writeUInt16LE(badHeader + 1, 6);
    const bytes = Buffer.concat([first, widened]);
    const decoder = new FrameDecoder(LIMITS);
    let view: PacketView | null = null;
    decoder.decode(bytes, 0, bytes.length, {
      onFrame: (v) => {
        view = v;
        decoder.detachView();
      },
    });
    expect(decoder.error).toBe('bad_extension');
    expect((view as unknown as PacketView).sourceId).toBe('alpha');
    expect((view as unknown as PacketView).destId).toBe('x');
  });
});
