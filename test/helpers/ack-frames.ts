/**
 * ACK frames built field by field from docs/protocol.md (Acknowledgements),
 * with Buffer writes and the crc-32 package only: independent of src/, so
 * tests can check ACK bytes and play a server that acknowledges.
 */
import CRC32 from 'crc-32';

export const ACK_FLAG = 0x20;
export const FINAL_FLAG = 0x40;

/** An ACK (flags 0x20) or, with a reason, an ACK + FINAL (0x60): header_len 26, payload u64 committed + reason. */
export function ackFrame(committed: bigint | number, opts: { reason?: string; timestamp?: bigint; flags?: number } = {}): Buffer {
  const reason = opts.reason ?? '';
  const payload = Buffer.concat([Buffer.alloc(8), Buffer.from(reason, 'utf8')]);
  payload.writeBigUInt64LE(BigInt(committed), 0);
  const head = Buffer.alloc(26); // 24 fixed bytes, then two empty ids: 00 00
  Buffer.from('PKT\0', 'latin1').copy(head, 0);
  head[4] = 1;
  head[5] = opts.flags ?? (opts.reason === undefined ? ACK_FLAG : ACK_FLAG | FINAL_FLAG);
  head.writeUInt16LE(26, 6);
  head.writeUInt32LE(payload.length, 8);
  head.writeUInt32LE(CRC32.buf(payload) >>> 0, 12);
  head.writeBigUInt64LE(opts.timestamp ?? BigInt(Date.now()) * 1000n, 16);
  return Buffer.concat([head, payload]);
}
