/**
 * CRC-32 (IEEE 802.3, the zlib one) over a range of a buffer, without a view.
 *
 * zlib.crc32 is native and fast on large inputs but takes a whole TypedArray:
 * a range costs a `subarray` allocation plus a native call. For small
 * payloads that overhead dominates, so below CRC32_NATIVE_CROSSOVER bytes we
 * run a slice-by-16 table loop in JS straight over the range (no allocation).
 * The crossover was measured with `npm run bench -- crc` (see BENCHMARKS.md).
 */
import zlib from 'node:zlib';

/** Payload size (bytes) from which zlib.crc32 beats the JS loop (measured: ~384 B). */
export const CRC32_NATIVE_CROSSOVER = 384;

const POLY = 0xedb88320;

/** Slice-by-16 tables: T[k * 256 + n] is the CRC of byte n followed by k zero bytes. */
function makeTables(): Int32Array {
  const t = new Int32Array(256 * 16);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? POLY ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n];
    for (let k = 1; k < 16; k++) {
      c = t[c & 0xff] ^ (c >>> 8);
      t[k * 256 + n] = c;
    }
  }
  return t;
}

const T = makeTables();

/**
 * CRC-32 of buf[start, end) in JS, as a signed int32 (`~c`, no `>>> 0`):
 * a small integer V8 returns unboxed, where half of all unsigned CRCs
 * (those >= 2^31) would be a heap number per frame. The decoder compares it
 * with the checksum field read as int32.
 */
export function crc32JsInt32(buf: Uint8Array, start: number, end: number): number {
  let c = -1;
  let i = start;
  // Sixteen bytes per step: the first word folds the running CRC in.
  for (const last = end - 16; i <= last; i += 16) {
    c ^= buf[i] | (buf[i + 1] << 8) | (buf[i + 2] << 16) | (buf[i + 3] << 24);
    c =
      T[3840 + (c & 0xff)] ^ T[3584 + ((c >>> 8) & 0xff)] ^ T[3328 + ((c >>> 16) & 0xff)] ^ T[3072 + (c >>> 24)] ^
      T[2816 + buf[i + 4]] ^ T[2560 + buf[i + 5]] ^ T[2304 + buf[i + 6]] ^ T[2048 + buf[i + 7]] ^
      T[1792 + buf[i + 8]] ^ T[1536 + buf[i + 9]] ^ T[1280 + buf[i + 10]] ^ T[1024 + buf[i + 11]] ^
      T[768 + buf[i + 12]] ^ T[512 + buf[i + 13]] ^ T[256 + buf[i + 14]] ^ T[buf[i + 15]];
  }
  for (; i < end; i++) c = T[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return ~c;
}

/** CRC-32 of buf[start, end) computed in JS; returns an unsigned 32-bit value. */
export function crc32Js(buf: Uint8Array, start: number, end: number): number {
  return crc32JsInt32(buf, start, end) >>> 0;
}

/** CRC-32 of buf[start, end) by zlib (one view allocation). */
export function crc32Native(buf: Buffer, start: number, end: number): number {
  return zlib.crc32(buf.subarray(start, end));
}

/** CRC-32 of buf[start, end), by whichever implementation is faster for that size. */
export function crc32(buf: Buffer, start: number, end: number): number {
  return end - start < CRC32_NATIVE_CROSSOVER ? crc32Js(buf, start, end) : zlib.crc32(buf.subarray(start, end));
}

/** crc32 as a signed int32, for the decoder's hot path (see crc32JsInt32). */
export function crc32Int32(buf: Buffer, start: number, end: number): number {
  return end - start < CRC32_NATIVE_CROSSOVER ? crc32JsInt32(buf, start, end) : zlib.crc32(buf.subarray(start, end)) | 0;
}
