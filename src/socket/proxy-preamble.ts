/**
 * Reads a PROXY protocol header off a raw socket before anything else
 * touches it: the path for connections that are handed on afterwards as a
 * socket (to a `tls.Server` via `emit('connection', socket)`, since the
 * header precedes the TLS handshake). Plain TCP connections reading through
 * onread parse the header in their ring instead (ProxyHeaderParser directly).
 *
 *   'data' chunks --copy--> preamble buffer (at most the parser's bound)
 *                                |
 *                       ProxyHeaderParser.parse(buf, 0, filled)
 *                  MORE: wait   DONE: pause, unshift the bytes after the header   ERROR: settle, caller destroys
 *
 * Bytes after the header go back into the socket (unshift) untouched; a TLS
 * wrap of the socket replays them before reading the handle (Node's
 * TLSSocket initRead). The buffer is at most 107 bytes (v1) or the v2 bound,
 * allocated once per connection and dropped when this settles.
 *
 * State: owned by this function until it settles; then the socket is the
 * caller's, paused. On ERROR, timeout or early end the caller closes it and
 * counts `proxy_protocol`.
 */
import type net from 'node:net';
import { ProxyHeaderParser, ProxyStatus, V1_MAX_BYTES, type ProxyErrorReason } from './proxy-protocol.js';

export type PreambleOutcome =
  | { ok: true; header: ProxyHeaderParser }
  | { ok: false; reason: ProxyErrorReason | 'timeout' | 'socket_error' };

export function readProxyPreamble(socket: net.Socket, parser: ProxyHeaderParser, timeoutMs: number): Promise<PreambleOutcome> {
  const capacity = parser.mode === 'v1' ? V1_MAX_BYTES : Math.max(V1_MAX_BYTES, parser.maxBytes);
  const buf = Buffer.allocUnsafe(capacity);
  let filled = 0;
  return new Promise((resolve) => {
    const timer = setTimeout(() => settle({ ok: false, reason: 'timeout' }), timeoutMs);
    function settle(outcome: PreambleOutcome, rest?: Buffer): void {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', onError);
      socket.off('close', onError);
      socket.pause();
      if (rest !== undefined && rest.length > 0) socket.unshift(rest);
      resolve(outcome);
    }
    function onData(chunk: Buffer): void {
      const copied = Math.min(chunk.length, capacity - filled);
      chunk.copy(buf, filled, 0, copied);
      filled += copied;
      const status = parser.parse(buf, 0, filled);
      if (status === ProxyStatus.DONE) {
        const after = buf.subarray(parser.headerLength, filled);
        const rest = copied === chunk.length ? Buffer.from(after) : Buffer.concat([after, chunk.subarray(copied)]);
        settle({ ok: true, header: parser }, rest);
      } else if (status === ProxyStatus.ERROR) {
        settle({ ok: false, reason: parser.error ?? 'bad_signature' });
      } else if (filled === capacity) {
        // Unreachable while the parser keeps its bounds (need <= capacity); never wait on a full buffer.
        settle({ ok: false, reason: 'too_long' });
      }
    }
    function onEnd(): void {
      parser.end();
      settle({ ok: false, reason: parser.error ?? 'truncated' });
    }
    function onError(): void {
      settle({ ok: false, reason: 'socket_error' });
    }
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('error', onError);
    // Destroyed without an error (drain, server close): settle now, not at the timeout.
    socket.once('close', onError);
    socket.resume();
  });
}
