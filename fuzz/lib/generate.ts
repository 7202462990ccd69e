/**
 * Valid PKT streams from a seed, within given limits: ids of every UTF-8
 * length, extensions of known, unknown and custom types, payloads from empty
 * to larger than most rings, and now and then payloads stuffed with magic
 * bytes, so that a resync has false starts to trip over.
 */
import type { DecoderLimits } from '../../src/frame/frame-decoder.js';
import { MAGIC } from '../../src/wire/constants.js';
import { encodeFrame, type ExtensionRecord } from '../../src/wire/encode.js';
import type { Rand } from './rand.js';

export interface FrameInfo {
  offset: number;
  headerLen: number;
  length: number;
}

export interface GeneratedStream {
  bytes: Buffer;
  frames: FrameInfo[];
}

/** Streams stop growing past this, so one input stays cheap. */
const STREAM_BUDGET = 256 * 1024;

const ID_POOL = ['sensor-1', 'gw/é', '日本語', '🚀', 'a', '', 'ünï-😀-x', '\uFEFFbom'];

function randomId(r: Rand): string {
  if (r.chance(0.6)) return r.pick(ID_POOL);
  const n = r.int(0, 12);
  const cps: number[] = [];
  for (let i = 0; i < n; i++) {
    const cp = r.weighted<() => number>([
      [6, () => r.int(1, 0x7f)],
      [2, () => r.int(0x80, 0x7ff)],
      [2, () => r.pick([r.int(0x800, 0xd7ff), r.int(0xe000, 0xffff)])],
      [1, () => r.int(0x10000, 0x10ffff)],
    ])();
    cps.push(cp);
  }
  return String.fromCodePoint(...cps);
}

function randomExtensions(r: Rand): ExtensionRecord[] {
  const n = r.weighted([
    [5, 0],
    [3, 1],
    [2, 3],
  ]);
  const out: ExtensionRecord[] = [];
  for (let i = 0; i < n; i++) {
    const type = r.weighted([
      [3, r.int(1, 4)],
      [1, r.int(5, 0x7f)],
      [2, r.int(0x80, 0xff)],
      [1, 0],
    ]);
    out.push({ type, value: r.bytes(r.chance(0.05) ? r.int(0, 300) : r.int(0, 20)) });
  }
  return out;
}

/** Mostly small; now and then larger than most rings; rarely the limit itself. */
function payloadLength(r: Rand, max: number): number {
  const n = r.weighted<() => number>([
    [120, () => r.int(0, 64)],
    [50, () => r.int(0, 3000)],
    [22, () => r.int(3000, 70_000)],
    [6, () => r.int(70_000, 300_000)],
    [1, () => max],
  ])();
  return n <= max ? n : r.int(0, Math.min(max, 300_000));
}

function payload(r: Rand, length: number): Buffer {
  const p = r.bytes(length);
  if (length >= 4 && r.chance(0.1)) {
    // Bait for resync: magic bytes (and lone 'P's) inside the payload.
    for (let k = r.int(1, 8); k > 0; k--) {
      const at = r.int(0, length - 4);
      if (r.chance(0.7)) MAGIC.copy(p, at);
      else p[at] = MAGIC[0];
    }
  }
  return p;
}

export function generateStream(r: Rand, limits: DecoderLimits): GeneratedStream {
  const count = r.weighted([
    [6, r.int(1, 4)],
    [3, r.int(5, 16)],
    [1, r.int(17, 80)],
  ]);
  const frames: Buffer[] = [];
  const info: FrameInfo[] = [];
  let offset = 0;
  for (let i = 0; i < count && offset < STREAM_BUDGET; i++) {
    let sourceId = randomId(r);
    let destId = randomId(r);
    let extensions = randomExtensions(r);
    const headerOf = (): number =>
      26 + Buffer.byteLength(sourceId) + Buffer.byteLength(destId) + extensions.reduce((s, e) => s + 3 + e.value.length, 0);
    if (headerOf() > limits.maxHeaderBytes) extensions = [];
    if (headerOf() > limits.maxHeaderBytes) sourceId = destId = '';
    const headerLen = headerOf();
    const frame = encodeFrame({
      sourceId,
      destId,
      extensions,
      payload: payload(r, payloadLength(r, limits.maxPayloadBytes)),
      flags: r.int(0, 0xff),
      timestamp: (BigInt(r.u32()) << 32n) | BigInt(r.u32()),
    });
    frames.push(frame);
    info.push({ offset, headerLen, length: frame.length });
    offset += frame.length;
  }
  return { bytes: Buffer.concat(frames), frames: info };
}
