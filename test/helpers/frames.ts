/**
 * Frames for tests: fast-check arbitraries of valid frames, a stream
 * encoder that remembers each frame's offset, a raw header builder for
 * invalid frames, and the comparison of a delivered packet with its spec.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import type { OwnedPacket, Packet } from '../../src/handlers/types.js';
import { FIXED_HEADER_BYTES, MAGIC_U32, OFFSET_CHECKSUM, OFFSET_HEADER_LEN, OFFSET_PAYLOAD_LEN } from '../../src/wire/constants.js';
import { crc32Js } from '../../src/wire/crc32.js';
import { encodeFrame, type ExtensionRecord } from '../../src/wire/encode.js';
import { seededBytes } from './bytes.js';

/** Everything a valid frame carries, in the form the encoder takes. */
export interface FrameSpec {
  sourceId: string;
  destId: string;
  payload: Buffer;
  timestamp: bigint;
  flags: number;
  extensions: ExtensionRecord[];
}

/** Ids a producer repeats (exercising the id cache), multi-byte and 4-byte UTF-8 included. */
export const ID_POOL = ['sensor-1', 'gw/é', '日本語', '🚀', 'a', '', 'ünï-😀-x'] as const;

/**
 * A code point of each UTF-8 length (1 to 4 bytes), surrogates excluded.
 * Cheaper than fc.string({ unit: 'binary' }), whose first use costs a second.
 */
export const codePointArb: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: 0, max: 0x7f }),
  fc.integer({ min: 0x80, max: 0x7ff }),
  fc.integer({ min: 0x800, max: 0xd7ff }),
  fc.integer({ min: 0xe000, max: 0xffff }),
  fc.integer({ min: 0x10000, max: 0x10ffff }),
);

export function unicodeStringArb(maxLength: number): fc.Arbitrary<string> {
  return fc.array(codePointArb, { maxLength }).map((cps) => String.fromCodePoint(...cps));
}

/** An id: often from the pool, else any Unicode string (astral planes included) without NUL. */
export const idArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom(...ID_POOL) },
  { weight: 1, arbitrary: unicodeStringArb(8).map((s) => s.replaceAll('\0', '_')) },
);

/** Extension types: known (1..4), unknown (0, 5..0x7f), custom (0x80..0xff). */
export const extensionTypeArb: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: 1, max: 4 }),
  fc.integer({ min: 5, max: 0x7f }),
  fc.integer({ min: 0x80, max: 0xff }),
  fc.constant(0),
);

export const extensionArb: fc.Arbitrary<ExtensionRecord> = fc.record({
  type: extensionTypeArb,
  value: fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
});

/** Payload sizes: mostly small, some medium, rarely up to `max` (70,000 by default). */
export function payloadLengthArb(max = 70_000): fc.Arbitrary<number> {
  const arbs: Array<fc.WeightedArbitrary<number>> = [
    { weight: 12, arbitrary: fc.integer({ min: 0, max: Math.min(64, max) }) },
    { weight: 4, arbitrary: fc.integer({ min: 0, max: Math.min(3000, max) }) },
  ];
  if (max > 3000) arbs.push({ weight: 1, arbitrary: fc.integer({ min: 3001, max }) });
  return fc.oneof(...arbs);
}

/** A valid frame; its payload length drawn from `lengths` (default: payloadLengthArb()). */
export function frameArb(lengths: fc.Arbitrary<number> = payloadLengthArb()): fc.Arbitrary<FrameSpec> {
  return fc.record({
    sourceId: idArb,
    destId: idArb,
    payload: fc.tuple(lengths, fc.integer()).map(([n, seed]) => seededBytes(n, seed)),
    timestamp: fc.bigInt({ min: 0n, max: 0xffff_ffff_ffff_ffffn }),
    flags: fc.integer({ min: 0, max: 0xff }),
    extensions: fc.array(extensionArb, { maxLength: 4 }),
  });
}

export function framesArb(opts: { maxFrames?: number; maxPayload?: number } = {}): fc.Arbitrary<FrameSpec[]> {
  return fc.array(frameArb(payloadLengthArb(opts.maxPayload)), { minLength: 1, maxLength: opts.maxFrames ?? 12 });
}

/** A concatenated stream and where each frame starts in it. */
export interface EncodedStream {
  bytes: Buffer;
  frames: Buffer[];
  offsets: number[];
}

export function encodeStream(specs: readonly FrameSpec[]): EncodedStream {
  const frames = specs.map((s) => encodeFrame(s));
  const offsets: number[] = [];
  let at = 0;
  for (const f of frames) {
    offsets.push(at);
    at += f.length;
  }
  return { bytes: Buffer.concat(frames), frames, offsets };
}

/** A small valid frame, varied by `n`. */
export function smallSpec(n: number, payloadLength = 8 + (n % 5)): FrameSpec {
  return {
    sourceId: `src-${n % 3}`,
    destId: n % 2 === 0 ? 'dé' : '🚀',
    payload: Buffer.alloc(payloadLength, 0x20 + (n % 16)),
    timestamp: 1_700_000_000_000_000n + BigInt(n),
    flags: n & 0xff,
    extensions: n % 3 === 0 ? [{ type: 0x81, value: Buffer.from([n & 0xff, 1, 2]) }] : [],
  };
}

export interface RawFrame {
  /** Bytes from offset 24 to header_len: ids, terminators, TLV records (taken as is). */
  rest: Uint8Array;
  payload?: Uint8Array;
  version?: number;
  flags?: number;
  /** Defaults to 24 + rest.length. */
  headerLen?: number;
  /** Defaults to payload.length. */
  payloadLen?: number;
  /** Defaults to the payload's CRC-32. */
  checksum?: number;
  timestamp?: bigint;
}

/** A frame built field by field, for the invalid ones the encoder will not write. */
export function rawFrame(f: RawFrame): Buffer {
  const payload = Buffer.from(f.payload ?? new Uint8Array(0));
  const head = Buffer.alloc(FIXED_HEADER_BYTES);
  head.writeUInt32LE(MAGIC_U32, 0);
  head[4] = f.version ?? 1;
  head[5] = f.flags ?? 0;
  head.writeUInt16LE(f.headerLen ?? FIXED_HEADER_BYTES + f.rest.length, OFFSET_HEADER_LEN);
  head.writeUInt32LE(f.payloadLen ?? payload.length, OFFSET_PAYLOAD_LEN);
  head.writeUInt32LE((f.checksum ?? crc32Js(payload, 0, payload.length)) >>> 0, OFFSET_CHECKSUM);
  head.writeBigUInt64LE(f.timestamp ?? 0n, 16);
  return Buffer.concat([head, Buffer.from(f.rest), payload]);
}

/** Builds candidates until one has no 0x50 ('P') after its first byte, so resync cannot stop inside it. */
export function withoutStrayP(build: (salt: number) => Buffer): Buffer {
  for (let salt = 0; salt < 1000; salt++) {
    const b = build(salt);
    if (b.indexOf(0x50, 1) === -1) return b;
  }
  throw new Error('no candidate without a stray 0x50');
}

/** Extension records of a packet (view or owned) as plain {type, value} pairs. */
function extensionsOf(p: Packet | OwnedPacket): Array<{ type: number; value: Buffer }> {
  const list = typeof p.extensions === 'function' ? [...p.extensions()] : p.extensions;
  return list.map((e) => ({ type: e.type, value: Buffer.from(e.value) }));
}

/** The packet carries exactly `spec`, encoded as `frame`, at stream `offset`. */
export function expectPacket(p: Packet | OwnedPacket, spec: FrameSpec, frame: Buffer, offset: number): void {
  expect(p.offset, 'offset').toBe(offset);
  expect(p.frame.length, 'frame length').toBe(frame.length);
  expect(p.frame.equals(frame), `frame bytes at offset ${offset}`).toBe(true);
  expect(p.payload.equals(spec.payload), 'payload').toBe(true);
  expect(p.sourceId, 'sourceId').toBe(spec.sourceId);
  expect(p.destId, 'destId').toBe(spec.destId);
  expect(p.timestampBigInt, 'timestamp').toBe(spec.timestamp);
  expect(p.timestamp, 'timestamp as number').toBe(Number(spec.timestamp));
  expect(p.flags, 'flags').toBe(spec.flags);
  expect(p.version, 'version').toBe(1);
  expect(extensionsOf(p), 'extensions').toEqual(spec.extensions.map((e) => ({ type: e.type, value: Buffer.from(e.value) })));
}
