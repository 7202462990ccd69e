/**
 * u64 LE fields as JS numbers, without BigInt: two u32 halves. Exact up to
 * 2^53 - 1, which covers microsecond timestamps and frame counts.
 */
const TWO_32 = 0x1_0000_0000;

/** Writes a non-negative safe integer as u64 LE at `at`. */
export function writeU64(target: Buffer, at: number, value: number): void {
  target.writeUInt32LE(value % TWO_32, at);
  target.writeUInt32LE(Math.floor(value / TWO_32), at + 4);
}

/** Reads a u64 LE at `at`; -1 if it is above 2^53 - 1 (not exact as a number). */
export function readU64(buf: Uint8Array, at: number): number {
  const lo = (buf[at] | (buf[at + 1] << 8) | (buf[at + 2] << 16) | (buf[at + 3] << 24)) >>> 0;
  const hi = (buf[at + 4] | (buf[at + 5] << 8) | (buf[at + 6] << 16) | (buf[at + 7] << 24)) >>> 0;
  return hi > 0x1f_ffff ? -1 : hi * TWO_32 + lo;
}
