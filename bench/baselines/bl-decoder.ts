/**
 * Baseline 2: the same decoder over a `bl` BufferList, the usual library
 * for "collect chunks, read across them". Chunks are appended without a
 * copy; header fields are read through the list; `slice` gives the frame
 * (a view when it sits in one chunk, a copy when it straddles two);
 * `consume` drops it. Per packet the same work as the copying baseline.
 */
import bl from 'bl';
import CRC32 from 'crc-32';
import { FIXED_HEADER, MAGIC, type ChecksumErrorHandler, type PacketHandler } from './packet.js';

const { BufferList } = bl;

export class BlDecoder {
  private readonly list = new BufferList();
  private offset = 0;

  constructor(
    private readonly onPacket: PacketHandler,
    private readonly onChecksumError: ChecksumErrorHandler,
  ) {}

  push(chunk: Buffer): void {
    const list = this.list;
    list.append(chunk);
    while (list.length >= FIXED_HEADER) {
      if (list.readUInt32LE(0) !== MAGIC) throw new Error(`bad magic at ${this.offset}`);
      const version = list.readUInt8(4);
      if (version !== 1) throw new Error(`unsupported version ${version} at ${this.offset}`);
      const headerLen = list.readUInt16LE(6);
      const payloadLen = list.readUInt32LE(8);
      const frameLen = headerLen + payloadLen;
      if (list.length < frameLen) break;
      const frame = list.slice(0, frameLen);
      const flags = frame.readUInt8(5);
      const checksum = frame.readUInt32LE(12);
      const timestamp = Number(frame.readBigUInt64LE(16));
      const sourceEnd = frame.indexOf(0, FIXED_HEADER);
      const sourceId = frame.toString('utf8', FIXED_HEADER, sourceEnd);
      const destEnd = frame.indexOf(0, sourceEnd + 1);
      const destId = frame.toString('utf8', sourceEnd + 1, destEnd);
      const payload = Buffer.from(frame.subarray(headerLen));
      if (CRC32.buf(payload) >>> 0 !== checksum) {
        this.onChecksumError(this.offset);
      } else {
        this.onPacket({ version, flags, timestamp, checksum, sourceId, destId, payload });
      }
      list.consume(frameLen);
      this.offset += frameLen;
    }
  }

  /** Bytes of an incomplete frame left at the end of the stream. */
  get pendingBytes(): number {
    return this.list.length;
  }
}
