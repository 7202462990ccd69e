/**
 * The Packet a handler receives: a view over the frame's bytes in the ring.
 *
 * The decoder refills one PacketView per connection for every frame, so a
 * synchronous handler costs no allocation. Everything that allocates
 * (payload view, strings, copies) happens only on access. When a handler
 * returns a promise the view is handed over for good: the pipeline tells
 * the decoder to start a fresh view for the next frame, so a view a handler
 * kept always describes its own frame until its bytes are released.
 */
import type { OwnedPacket, Packet } from '../handlers/types.js';
import type { ExtensionRecord } from '../wire/encode.js';
import {
  OFFSET_CHECKSUM,
  OFFSET_FLAGS,
  OFFSET_TIMESTAMP,
  OFFSET_VERSION,
} from '../wire/constants.js';
import { iterateExtensions } from './extensions.js';
import type { IdCache } from './id-cache.js';

const EMPTY = Buffer.alloc(0);

export class PacketView implements Packet {
  buffer: Buffer = EMPTY;
  frameStart = 0;
  frameLength = 0;
  headerLength = 0;
  payloadLength = 0;
  offset = 0;
  sourceStart = 0;
  sourceEnd = 0;
  destStart = 0;
  destEnd = 0;
  sourceGeneration = 0;
  destGeneration = 0;
  private readonly sourceCache: IdCache;
  private readonly destCache: IdCache;

  constructor(sourceCache: IdCache, destCache: IdCache) {
    this.sourceCache = sourceCache;
    this.destCache = destCache;
  }

  get version(): number {
    return this.buffer[this.frameStart + OFFSET_VERSION];
  }

  get flags(): number {
    return this.buffer[this.frameStart + OFFSET_FLAGS];
  }

  get checksum(): number {
    return this.buffer.readUInt32LE(this.frameStart + OFFSET_CHECKSUM);
  }

  get timestamp(): number {
    const at = this.frameStart + OFFSET_TIMESTAMP;
    return this.buffer.readUInt32LE(at) + this.buffer.readUInt32LE(at + 4) * 0x1_0000_0000;
  }

  get timestampBigInt(): bigint {
    return this.buffer.readBigUInt64LE(this.frameStart + OFFSET_TIMESTAMP);
  }

  get sourceId(): string {
    // The cache still holds this frame's id unless a later frame changed it.
    return this.sourceCache.generation === this.sourceGeneration
      ? this.sourceCache.string()
      : this.buffer.toString('utf8', this.sourceStart, this.sourceEnd);
  }

  get destId(): string {
    return this.destCache.generation === this.destGeneration
      ? this.destCache.string()
      : this.buffer.toString('utf8', this.destStart, this.destEnd);
  }

  get sourceIdBytes(): Buffer {
    return this.buffer.subarray(this.sourceStart, this.sourceEnd);
  }

  get destIdBytes(): Buffer {
    return this.buffer.subarray(this.destStart, this.destEnd);
  }

  get payload(): Buffer {
    const start = this.frameStart + this.headerLength;
    return this.buffer.subarray(start, start + this.payloadLength);
  }

  get frame(): Buffer {
    return this.buffer.subarray(this.frameStart, this.frameStart + this.frameLength);
  }

  extensions(): IterableIterator<ExtensionRecord> {
    return iterateExtensions(this.buffer, this.destEnd + 1, this.frameStart + this.headerLength);
  }

  copy(): OwnedPacket {
    const frame = Buffer.from(this.frame);
    const base = -this.frameStart;
    const extensions: ExtensionRecord[] = [];
    for (const ext of iterateExtensions(frame, base + this.destEnd + 1, this.headerLength)) extensions.push(ext);
    return {
      version: this.version,
      flags: this.flags,
      timestamp: this.timestamp,
      timestampBigInt: this.timestampBigInt,
      checksum: this.checksum,
      sourceId: this.sourceId,
      destId: this.destId,
      payload: frame.subarray(this.headerLength),
      extensions,
      frame,
      offset: this.offset,
    };
  }
}
