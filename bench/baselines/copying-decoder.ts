/**
 * Baseline 1: a PKT decoder written the way a typical Node developer would.
 * Every chunk is concatenated onto the leftover bytes, headers are parsed
 * with readUInt*, ids become strings, the payload is copied out, crc-32
 * checks it, and each packet is a fresh object handed to the handler.
 * Deliberately unoptimised: it is the yardstick, not a straw man (no extra
 * copies beyond what this style needs).
 */
import CRC32 from 'crc-32';
import { FIXED_HEADER, MAGIC, type ChecksumErrorHandler, type PacketHandler } from './packet.js';

export class CopyingDecoder {
  private leftover: Buffer = Buffer.alloc(0);
  private offset = 0;

  constructor(
    private readonly onPacket: PacketHandler,
    private readonly onChecksumError: ChecksumErrorHandler,
  ) {}

  push(chunk: Buffer): void {
    const buf = Buffer.concat([this.leftover, chunk]);
    let pos = 0;
    while (buf.length - pos >= FIXED_HEADER) {
      if (buf.readUInt32LE(pos) !== MAGIC) throw new Error(`bad magic at ${this.offset}`);
      const version = buf.readUInt8(pos + 4);
      if (version !== 1) throw new Error(`unsupported version ${version} at ${this.offset}`);
      const flags = buf.readUInt8(pos + 5);
      const headerLen = buf.readUInt16LE(pos + 6);
      const payloadLen = buf.readUInt32LE(pos + 8);
      if (buf.length - pos < headerLen + payloadLen) break;
      const checksum = buf.readUInt32LE(pos + 12);
      const timestamp = Number(buf.readBigUInt64LE(pos + 16));
      const sourceEnd = buf.indexOf(0, pos + FIXED_HEADER);
      const sourceId = buf.toString('utf8', pos + FIXED_HEADER, sourceEnd);
      const destEnd = buf.indexOf(0, sourceEnd + 1);
      const destId = buf.toString('utf8', sourceEnd + 1, destEnd);
      const payloadStart = pos + headerLen;
      const payload = Buffer.from(buf.subarray(payloadStart, payloadStart + payloadLen));
      if (CRC32.buf(payload) >>> 0 !== checksum) {
        this.onChecksumError(this.offset);
      } else {
        this.onPacket({ version, flags, timestamp, checksum, sourceId, destId, payload });
      }
      pos += headerLen + payloadLen;
      this.offset += headerLen + payloadLen;
    }
    this.leftover = buf.subarray(pos);
  }

  /** Bytes of an incomplete frame left at the end of the stream. */
  get pendingBytes(): number {
    return this.leftover.length;
  }
}
