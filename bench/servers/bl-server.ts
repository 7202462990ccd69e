/**
 * Baseline server 2: the same server over a `bl` BufferList, the usual
 * library for "collect chunks, read across them". Chunks are appended
 * without a copy, header fields are read through the list, `slice` gives
 * the frame (a view inside one chunk, a copy when it straddles chunks),
 * `consume` drops it. Per packet the same work and the same validation as
 * copying-server.ts (magic, version, lengths, terminated ids, CRC).
 *
 *   fork: bl-server.ts --connections N   (see session.ts for the protocol)
 */
import net from 'node:net';
import bl from 'bl';
import CRC32 from 'crc-32';
import { FIXED_HEADER_BYTES, MAGIC_U32, MIN_HEADER_LEN } from '../../src/wire/constants.js';
import type { DecodedPacket as Packet } from '../baselines/packet.js';
import { LIMITS, listen, sessionFromArgv } from './session.js';

const { BufferList } = bl;


const session = sessionFromArgv();
/** The "handler": counts, and keeps the last packet so that no work is dead code. */
export let lastPacket: Packet | null = null;

function handle(socket: net.Socket): void {
  const list = new BufferList();
  socket.on('data', (chunk: Buffer) => {
    session.begin();
    list.append(chunk);
    while (list.length >= FIXED_HEADER_BYTES) {
      if (list.readUInt32LE(0) !== MAGIC_U32) return fail(socket, 'bad_magic');
      const version = list.readUInt8(4);
      if (version !== 1) return fail(socket, 'unsupported_version');
      const headerLen = list.readUInt16LE(6);
      if (headerLen < MIN_HEADER_LEN || headerLen > LIMITS.maxHeaderBytes) return fail(socket, 'bad_header_len');
      const payloadLen = list.readUInt32LE(8);
      if (payloadLen > LIMITS.maxPayloadBytes) return fail(socket, 'frame_too_large');
      const frameLen = headerLen + payloadLen;
      if (list.length < frameLen) break;
      const frame = list.slice(0, frameLen);
      const sourceEnd = frame.indexOf(0, FIXED_HEADER_BYTES);
      const destEnd = sourceEnd === -1 ? -1 : frame.indexOf(0, sourceEnd + 1);
      if (destEnd === -1 || destEnd >= headerLen) return fail(socket, 'unterminated_string');
      const checksum = frame.readUInt32LE(12);
      const payload = Buffer.from(frame.subarray(headerLen));
      if (CRC32.buf(payload) >>> 0 !== checksum) {
        session.fail('crc_mismatch'); // dropped, like pkt-ingest's `drop` policy
      } else {
        lastPacket = {
          version,
          flags: frame.readUInt8(5),
          timestamp: Number(frame.readBigUInt64LE(16)),
          checksum,
          sourceId: frame.toString('utf8', FIXED_HEADER_BYTES, sourceEnd),
          destId: frame.toString('utf8', sourceEnd + 1, destEnd),
          payload,
        };
        session.packets++;
        session.bytes += frameLen;
      }
      list.consume(frameLen);
    }
    session.end();
  });
  socket.on('error', () => {});
  socket.on('close', () => {
    if (list.length > 0) session.fail('truncated');
    session.connectionClosed();
  });
}

function fail(socket: net.Socket, reason: string): void {
  session.fail(reason);
  socket.destroy();
}

await listen(net.createServer(handle));
