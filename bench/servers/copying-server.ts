/**
 * Baseline server 1: PKT over TCP the way a typical Node developer writes it.
 *
 * `'data'` events; every chunk is `Buffer.concat`ed onto the leftover bytes of
 * the last one; header fields are read with readUInt*, the ids become strings,
 * the payload is copied out with `Buffer.from`, `crc-32` checks it, and each
 * packet is a fresh object handed to the handler. It validates what
 * pkt-ingest validates on the benchmark's frames (magic, version, header and
 * payload lengths against the same limits, terminated ids, CRC) and closes
 * the connection on a framing error, as pkt-ingest's default policy does.
 *
 *   fork: copying-server.ts --connections N   (see session.ts for the protocol;
 *         over TLS when PKT_BENCH_TLS_CERT/KEY are set, for the tls suite)
 */
import net from 'node:net';
import CRC32 from 'crc-32';
import { FIXED_HEADER_BYTES, MAGIC_U32, MIN_HEADER_LEN } from '../../src/wire/constants.js';
import type { DecodedPacket as Packet } from '../baselines/packet.js';
import { createBenchServer, LIMITS, listen, sessionFromArgv } from './session.js';


const session = sessionFromArgv();
/** The "handler": counts, and keeps the last packet so that no work is dead code. */
export let lastPacket: Packet | null = null;

function handle(socket: net.Socket): void {
  let leftover = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    session.begin();
    const buf = Buffer.concat([leftover, chunk]);
    let pos = 0;
    while (buf.length - pos >= FIXED_HEADER_BYTES) {
      if (buf.readUInt32LE(pos) !== MAGIC_U32) return fail(socket, 'bad_magic');
      const version = buf.readUInt8(pos + 4);
      if (version !== 1) return fail(socket, 'unsupported_version');
      const headerLen = buf.readUInt16LE(pos + 6);
      if (headerLen < MIN_HEADER_LEN || headerLen > LIMITS.maxHeaderBytes) return fail(socket, 'bad_header_len');
      const payloadLen = buf.readUInt32LE(pos + 8);
      if (payloadLen > LIMITS.maxPayloadBytes) return fail(socket, 'frame_too_large');
      if (buf.length - pos < headerLen + payloadLen) break;
      const headerEnd = pos + headerLen;
      const sourceEnd = buf.indexOf(0, pos + FIXED_HEADER_BYTES);
      const destEnd = sourceEnd === -1 ? -1 : buf.indexOf(0, sourceEnd + 1);
      if (destEnd === -1 || destEnd >= headerEnd) return fail(socket, 'unterminated_string');
      const checksum = buf.readUInt32LE(pos + 12);
      const payload = Buffer.from(buf.subarray(headerEnd, headerEnd + payloadLen));
      if (CRC32.buf(payload) >>> 0 !== checksum) {
        session.fail('crc_mismatch'); // dropped, like pkt-ingest's `drop` policy
      } else {
        lastPacket = {
          version,
          flags: buf.readUInt8(pos + 5),
          timestamp: Number(buf.readBigUInt64LE(pos + 16)),
          checksum,
          sourceId: buf.toString('utf8', pos + FIXED_HEADER_BYTES, sourceEnd),
          destId: buf.toString('utf8', sourceEnd + 1, destEnd),
          payload,
        };
        session.packets++;
        session.bytes += headerLen + payloadLen;
      }
      pos += headerLen + payloadLen;
    }
    leftover = buf.subarray(pos);
    session.end();
  });
  socket.on('error', () => {});
  socket.on('close', () => {
    if (leftover.length > 0) session.fail('truncated');
    session.connectionClosed();
  });
}

function fail(socket: net.Socket, reason: string): void {
  session.fail(reason);
  socket.destroy();
}

await listen(createBenchServer(handle));
