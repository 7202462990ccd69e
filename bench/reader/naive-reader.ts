/**
 * The baseline a reader is measured against: read the whole file into
 * memory, walk the length fields, copy every frame out (as a consumer that
 * keeps frames must), decode the ids to strings, check the CRC. No ring,
 * no views; memory grows with the file.
 */
import fs from 'node:fs';
import { crc32 } from '../../src/wire/crc32.js';

export function naiveRead(file: string): number {
  const all = fs.readFileSync(file);
  let p = 0;
  let n = 0;
  let keep = 0;
  while (p + 24 <= all.length) {
    const headerLength = all.readUInt16LE(p + 6);
    const payloadLength = all.readUInt32LE(p + 8);
    const end = p + headerLength + payloadLength;
    if (end > all.length) break;
    const frame = Buffer.from(all.subarray(p, end));
    let idEnd = 24;
    while (frame[idEnd] !== 0) idEnd++;
    const source = frame.toString('utf8', 24, idEnd);
    let destEnd = idEnd + 1;
    while (frame[destEnd] !== 0) destEnd++;
    const dest = frame.toString('utf8', idEnd + 1, destEnd);
    if (crc32(frame, headerLength, frame.length) !== frame.readUInt32LE(12)) throw new Error(`bad CRC at ${p}`);
    keep += source.length + dest.length;
    p = end;
    n++;
  }
  if (keep < 0) throw new Error('unreachable');
  return n;
}
