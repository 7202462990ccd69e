/**
 * Pre-encoded PKT streams for the benchmarks: one producer's frames back to
 * back, cut into fixed-size chunks as reads would deliver them.
 */
import { randomFillSync } from 'node:crypto';
import { encodeFrameInto, encodedLength } from '../../src/wire/encode.js';

export interface StreamSpec {
  /** Payload bytes of every frame. */
  readonly payloadBytes: number;
  /** Approximate stream size; whole frames only, so slightly less. */
  readonly targetBytes: number;
  /** Ids, repeated on every frame as a real producer does. */
  readonly sourceId: string;
  readonly destId: string;
}

export interface EncodedStream {
  readonly bytes: Buffer;
  readonly frames: number;
  readonly frameBytes: number;
  /** Byte offset of frame `i`'s payload, for self-checks that corrupt one. */
  readonly payloadOffset: (frame: number) => number;
}

/** Random bytes the payloads are taken from, each frame at a different offset. */
const PAYLOAD_SOURCE_BYTES = 1 << 20;
let payloadSource: Buffer | null = null;

function payloads(): Buffer {
  return (payloadSource ??= randomFillSync(Buffer.allocUnsafeSlow(PAYLOAD_SOURCE_BYTES)));
}

export function buildStream(spec: StreamSpec): EncodedStream {
  const source = payloads();
  if (spec.payloadBytes > source.length) throw new RangeError(`payloads above ${source.length} bytes are not supported`);
  const probe = { sourceId: spec.sourceId, destId: spec.destId, payload: source.subarray(0, spec.payloadBytes) };
  const frameBytes = encodedLength(probe);
  const headerBytes = frameBytes - spec.payloadBytes;
  const frames = Math.max(1, Math.floor(spec.targetBytes / frameBytes));
  const bytes = Buffer.allocUnsafeSlow(frames * frameBytes);
  const span = source.length - spec.payloadBytes;
  const timestamp = 1_700_000_000_000_000;
  let at = 0;
  for (let i = 0; i < frames; i++) {
    const from = (i * 4099) % (span + 1); // a prime stride: neighbouring payloads differ
    at += encodeFrameInto(
      { sourceId: spec.sourceId, destId: spec.destId, payload: source.subarray(from, from + spec.payloadBytes), timestamp: timestamp + i },
      bytes,
      at,
    );
  }
  return { bytes, frames, frameBytes, payloadOffset: (frame) => frame * frameBytes + headerBytes };
}

/** Views of `bytes` of `size` bytes each (the last may be shorter), as successive reads. */
export function chunk(bytes: Buffer, size: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.subarray(at, Math.min(at + size, bytes.length)));
  return chunks;
}
