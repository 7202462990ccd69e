/**
 * Mutations of a valid stream, blind (bits, bytes, cuts, insertions) and
 * aimed at the fields docs/protocol.md checks (lengths at their limits and just past
 * them, magic, version, ids, extension lengths, checksum). Each returns the
 * new bytes and a short name for the report.
 */
import type { DecoderLimits } from '../../src/frame/frame-decoder.js';
import { MAGIC } from '../../src/wire/constants.js';
import type { FrameInfo } from './generate.js';
import type { Rand } from './rand.js';

type Mutator = (r: Rand, s: Buffer, frames: readonly FrameInfo[], limits: DecoderLimits) => Buffer;

/** A frame of the original stream (offsets may be stale after earlier mutations; that is fine). */
function someFrame(r: Rand, s: Buffer, frames: readonly FrameInfo[]): FrameInfo | null {
  const live = frames.filter((f) => f.offset + 24 <= s.length);
  return live.length === 0 ? null : r.pick(live);
}

const position = (r: Rand, s: Buffer): number => (s.length === 0 ? 0 : r.int(0, s.length - 1));

function insert(s: Buffer, at: number, bytes: Buffer): Buffer {
  return Buffer.concat([s.subarray(0, at), bytes, s.subarray(at)]);
}

const INTERESTING_BYTES = [0x00, 0xff, 0x50, 0x7f, 0x80, 0xc0, 0xc2, 0xed, 0xf4, 0xf5];
const BAD_UTF8 = [
  [0xc0, 0x80],
  [0xed, 0xa0, 0x80],
  [0xf4, 0x90, 0x80, 0x80],
  [0xe0, 0x80, 0x80],
  [0xc2],
  [0x80],
  [0xff],
];

const MUTATORS: Record<string, Mutator> = {
  flipBits(r, s) {
    const out = Buffer.from(s);
    if (out.length === 0) return out;
    for (let k = r.int(1, 8); k > 0; k--) out[position(r, out)] ^= 1 << r.int(0, 7);
    return out;
  },
  setBytes(r, s) {
    const out = Buffer.from(s);
    if (out.length === 0) return out;
    for (let k = r.int(1, 4); k > 0; k--) out[position(r, out)] = r.chance(0.7) ? r.pick(INTERESTING_BYTES) : r.int(0, 255);
    return out;
  },
  truncate(r, s, frames) {
    const near = frames.length > 0 && r.chance(0.5) ? r.pick(frames).offset + r.int(-3, 30) : r.int(0, s.length);
    return s.subarray(0, Math.max(0, Math.min(s.length, near)));
  },
  insertBytes(r, s) {
    const what = r.weighted<() => Buffer>([
      [3, () => r.bytes(r.int(1, 32))],
      [2, () => Buffer.from(MAGIC)],
      [1, () => MAGIC.subarray(0, r.int(1, 3))],
      [1, () => r.bytes(r.int(33, 2000))],
      [1, () => Buffer.from(s.subarray(position(r, s), position(r, s) + r.int(1, 64)))],
    ])();
    return insert(s, r.int(0, s.length), what);
  },
  deleteBytes(r, s) {
    const at = r.int(0, s.length);
    return Buffer.concat([s.subarray(0, at), s.subarray(Math.min(s.length, at + r.int(1, 32)))]);
  },
  headerLen(r, s, frames, limits) {
    const f = someFrame(r, s, frames);
    if (f === null) return s;
    const out = Buffer.from(s);
    const max = limits.maxHeaderBytes;
    const v = r.pick([0, 25, 26, max, Math.min(0xffff, max + 1), 0xffff, f.headerLen - 1, f.headerLen + 1, r.int(0, 0xffff)]);
    out.writeUInt16LE(Math.max(0, Math.min(0xffff, v)), f.offset + 6);
    return out;
  },
  payloadLen(r, s, frames, limits) {
    const f = someFrame(r, s, frames);
    if (f === null) return s;
    const out = Buffer.from(s);
    const max = limits.maxPayloadBytes;
    const current = out.readUInt32LE(f.offset + 8);
    const v = r.pick([0, max, max + 1, 0xffffffff, 0x80000000, current - 1, current + 1, r.u32()]);
    out.writeUInt32LE(Math.max(0, Math.min(0xffffffff, v)), f.offset + 8);
    return out;
  },
  checksum(r, s, frames) {
    const f = someFrame(r, s, frames);
    if (f === null) return s;
    const out = Buffer.from(s);
    out.writeUInt32LE((out.readUInt32LE(f.offset + 12) ^ (r.u32() | 1)) >>> 0, f.offset + 12);
    return out;
  },
  versionOrMagic(r, s, frames) {
    const f = someFrame(r, s, frames);
    if (f === null) return s;
    const out = Buffer.from(s);
    const at = f.offset + r.int(0, 4);
    out[at] = r.pick([0, 2, 0xff, out[at] ^ 1]);
    return out;
  },
  ids(r, s, frames) {
    const f = someFrame(r, s, frames);
    if (f === null || f.headerLen <= 24) return s;
    const out = Buffer.from(s);
    const end = Math.min(out.length, f.offset + f.headerLen);
    const at = r.int(f.offset + 24, Math.max(f.offset + 24, end - 1));
    if (r.chance(0.3)) {
      out[at] = out[at] === 0 ? 0x78 : 0; // lose a terminator, or add one
    } else {
      const seq = r.pick(BAD_UTF8);
      for (let k = 0; k < seq.length && at + k < end; k++) out[at + k] = seq[k];
    }
    return out;
  },
  extensionLength(r, s, frames) {
    const f = someFrame(r, s, frames);
    if (f === null || f.offset + f.headerLen > s.length) return s;
    const header = s.subarray(f.offset, f.offset + f.headerLen);
    const sourceEnd = header.indexOf(0, 24);
    const destEnd = sourceEnd < 0 ? -1 : header.indexOf(0, sourceEnd + 1);
    if (destEnd < 0 || destEnd + 3 >= f.headerLen) return s;
    const out = Buffer.from(s);
    out.writeUInt16LE(r.pick([0, 1, 0xffff, r.int(0, 400)]), f.offset + destEnd + 2);
    return out;
  },
  /**
   * A head whose header_len (and payload_len) swallow the frames after it,
   * with a header that fails its checks once complete: under resync those
   * frames must come back, from inside an oversize frame's buffer.
   */
  swallowingHead(r, s, frames, limits) {
    const at = frames.length > 0 && r.chance(0.8) ? Math.min(s.length, r.pick(frames).offset) : r.int(0, s.length);
    const headerLen = r.int(26, limits.maxHeaderBytes);
    const head = Buffer.alloc(Math.min(headerLen, r.int(24, 64)), 0x41); // 'A's: no terminator in what we write
    MAGIC.copy(head, 0);
    head[4] = 1;
    head.writeUInt16LE(headerLen, 6);
    head.writeUInt32LE(r.int(0, limits.maxPayloadBytes), 8);
    return insert(s, at, head);
  },
  duplicateFrame(r, s, frames) {
    const f = someFrame(r, s, frames);
    if (f === null) return s;
    const copy = Buffer.from(s.subarray(f.offset, f.offset + f.length));
    return insert(s, Math.min(s.length, f.offset + f.length), copy);
  },
  dropFrame(r, s, frames) {
    const f = someFrame(r, s, frames);
    if (f === null) return s;
    return Buffer.concat([s.subarray(0, f.offset), s.subarray(Math.min(s.length, f.offset + f.length))]);
  },
};

export const MUTATION_NAMES = Object.keys(MUTATORS);

/** Applies 0..5 random mutations; returns the new stream and their names, in order. */
export function mutate(r: Rand, s: Buffer, frames: readonly FrameInfo[], limits: DecoderLimits): { bytes: Buffer; applied: string[] } {
  const n = r.weighted([
    [20, 0],
    [40, 1],
    [25, 2],
    [15, r.int(3, 5)],
  ]);
  const applied: string[] = [];
  let out = s;
  for (let i = 0; i < n; i++) {
    const name = r.pick(MUTATION_NAMES);
    out = MUTATORS[name](r, out, frames, limits);
    applied.push(name);
  }
  return { bytes: out, applied };
}
