/** The packet object both baselines build per frame, as typical Node code does. */
export interface DecodedPacket {
  version: number;
  flags: number;
  timestamp: number;
  checksum: number;
  sourceId: string;
  destId: string;
  payload: Buffer;
}

export type PacketHandler = (packet: DecodedPacket) => void;

/** Called on a frame whose CRC does not match: the frame is dropped. */
export type ChecksumErrorHandler = (offset: number) => void;

/** "PKT\0" as a little-endian u32. */
export const MAGIC = 0x00544b50;
/** Fixed fields before the ids. */
export const FIXED_HEADER = 24;
