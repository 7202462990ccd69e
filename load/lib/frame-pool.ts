/**
 * Pre-generated frames: the load generator encodes a pool once and cycles it,
 * so that encoding and CRC work never limit the rate it can offer.
 *
 * Frames lie back to back in buffers of about 1 MiB (a larger frame gets a
 * buffer of its own); offsets[i] lists where each frame of buffers[i] starts,
 * plus its end, so senders can cut runs of whole frames without parsing.
 * The pool is never written after generation: sockets may hold views of it.
 */
import { encodeFrameInto } from '../../src/wire/encode.js';
import { FIXED_HEADER_BYTES, OFFSET_CHECKSUM } from '../../src/wire/constants.js';
import { Prng } from './prng.js';

export interface FramePoolOptions {
  /** Frames to generate (>= 1). */
  count: number;
  /** Payload sizes are uniform in [payloadMin, payloadMax]. */
  payloadMin: number;
  payloadMax: number;
  /** Id lengths in bytes (ASCII letters and digits). */
  sourceLen: number;
  destLen: number;
  seed: number;
  /** Every K-th frame (the K-th, 2K-th, ...) gets a wrong checksum; 0: none. */
  corruptEvery: number;
  /** Flags byte of every frame (e.g. ACK_REQUEST for --acks); default 0. */
  flags?: number;
  /** Timestamp of every frame, µs; default 0 (deterministic, and not observed as lag by the server). */
  timestamp?: number;
}

export interface FramePool {
  buffers: Buffer[];
  /** offsets[i][k]: start of frame k in buffers[i]; the last entry is buffers[i].length. */
  offsets: Uint32Array[];
  frames: number;
  bytes: number;
}

export const POOL_BUFFER_BYTES = 1024 * 1024;

const ID_ALPHABET = Buffer.from('abcdefghijklmnopqrstuvwxyz0123456789');

function randomId(prng: Prng, into: Buffer, length: number): Buffer {
  for (let i = 0; i < length; i++) into[i] = ID_ALPHABET[prng.nextU32() % ID_ALPHABET.length];
  return into.subarray(0, length);
}

export function generateFramePool(options: FramePoolOptions): FramePool {
  const { count, payloadMin, payloadMax, sourceLen, destLen, corruptEvery } = options;
  const prng = new Prng(options.seed);
  const timestamp = options.timestamp ?? 0;
  const headerLen = FIXED_HEADER_BYTES + sourceLen + 1 + destLen + 1;
  const payload = Buffer.allocUnsafe(payloadMax);
  const source = Buffer.allocUnsafe(sourceLen);
  const dest = Buffer.allocUnsafe(destLen);

  const buffers: Buffer[] = [];
  const offsets: Uint32Array[] = [];
  let buf = Buffer.alloc(0);
  let starts: number[] = [];
  let used = 0;
  const close = (): void => {
    if (starts.length === 0) return;
    buffers.push(buf.subarray(0, used));
    offsets.push(Uint32Array.from([...starts, used]));
  };

  let bytes = 0;
  for (let n = 1; n <= count; n++) {
    const payloadLen = prng.int(payloadMin, payloadMax);
    const frameLen = headerLen + payloadLen;
    if (used + frameLen > buf.length) {
      close();
      buf = Buffer.allocUnsafeSlow(Math.max(POOL_BUFFER_BYTES, frameLen));
      starts = [];
      used = 0;
    }
    prng.fill(payload, 0, payloadLen);
    encodeFrameInto(
      { sourceId: randomId(prng, source, sourceLen), destId: randomId(prng, dest, destLen), timestamp, payload: payload.subarray(0, payloadLen), flags: options.flags ?? 0 },
      buf,
      used,
    );
    if (corruptEvery > 0 && n % corruptEvery === 0) {
      // Flipping every bit guarantees a mismatch; lengths stay sane, so framing survives.
      buf.writeUInt32LE(~buf.readUInt32LE(used + OFFSET_CHECKSUM) >>> 0, used + OFFSET_CHECKSUM);
    }
    starts.push(used);
    used += frameLen;
    bytes += frameLen;
  }
  close();
  return { buffers, offsets, frames: count, bytes };
}
