/**
 * PKT v1 frame layout (docs/protocol.md). All integers little-endian.
 *
 *   0       4   5     6          8           12         16          24
 *   +-------+---+-----+----------+-----------+----------+-----------+---------------------------+---------+
 *   | magic |ver|flags|header_len|payload_len| checksum | timestamp | source\0 dest\0 TLV ...    | payload |
 *   +-------+---+-----+----------+-----------+----------+-----------+---------------------------+---------+
 *   |<------------------------------ header_len ------------------------------------------------>|
 */

/** "PKT\0" read as a little-endian u32. */
export const MAGIC_U32 = 0x00544b50;
export const MAGIC = Buffer.from([0x50, 0x4b, 0x54, 0x00]);
export const VERSION = 1;

export const OFFSET_MAGIC = 0;
export const OFFSET_VERSION = 4;
export const OFFSET_FLAGS = 5;
export const OFFSET_HEADER_LEN = 6;
export const OFFSET_PAYLOAD_LEN = 8;
export const OFFSET_CHECKSUM = 12;
export const OFFSET_TIMESTAMP = 16;
export const OFFSET_IDS = 24;

/** Bytes before the ids: enough to read every fixed field. */
export const FIXED_HEADER_BYTES = 24;
/** Smallest legal header_len: fixed fields plus two empty, terminated ids. */
export const MIN_HEADER_LEN = 26;
/** header_len is a u16. */
export const MAX_HEADER_LEN = 0xffff;
/** payload_len is a u32. */
export const MAX_PAYLOAD_LEN = 0xffffffff;

/** TLV record header: type u8 + length u16. */
export const EXTENSION_HEADER_BYTES = 3;

export const Flags = {
  COMPRESSED: 0x01,
  ENCRYPTED: 0x02,
  PRIORITY: 0x04,
  FRAGMENT: 0x08,
  /** Producer to server: acknowledge this connection's frames (docs/protocol.md, Acknowledgements). */
  ACK_REQUEST: 0x10,
  /** Server to producer only: an acknowledgement frame. */
  ACK: 0x20,
  /** Server to producer only, with ACK: the server closes the connection after this frame. */
  FINAL: 0x40,
} as const;

export const ExtensionType = {
  METADATA: 1,
  ENCRYPTION: 2,
  COMPRESSION: 3,
  ROUTING: 4,
  /** 16-byte producer id + u64 LE sequence number (docs/protocol.md, Acknowledgements). */
  SEQUENCE: 5,
  /** 0x80..0xFF are custom. */
  CUSTOM_MIN: 0x80,
} as const;
