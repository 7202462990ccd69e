/**
 * The socket hooks every connection of the server shares (no closures per
 * connection): the onread hooks, the 'data'/'close'/'error' listeners, and
 * LANDING, the buffer reads land in while a connection has no ring region
 * to offer.
 *
 * LANDING, shared by every connection (safe: each read is handled
 * synchronously, before any other read can happen), takes the first read
 * of a connection that holds no ring yet (idle connections own none) and
 * the first read after a pause: the socket keeps the buffer it was last
 * lent, and lending it a ring region again would cost a native listener
 * per call (useUserBuffer), kept until the socket closes.
 */
import type net from 'node:net';

/** Where reads land while a connection has no ring region to offer. */
export const LANDING = Buffer.allocUnsafeSlow(64 * 1024);

export const kConnection = Symbol('pkt-ingest.connection');

/** What the hooks need of a connection: the socket carries it under kConnection. */
export interface OnreadTarget {
  /** `nread` bytes landed in `lent`; false stops reading. */
  onRead(nread: number): boolean;
  /** The buffer the next read lands in. */
  readonly lent: Buffer;
  /** 'data' event fallback (sockets not read through onread). */
  onChunk(chunk: Buffer): void;
  /** 'close'. */
  closed(): void;
  /** 'error'. */
  socketError(err: Error): void;
}

interface SocketWithConnection extends net.Socket {
  [kConnection]?: OnreadTarget;
}

function onData(this: SocketWithConnection, chunk: Buffer): void {
  this[kConnection]?.onChunk(chunk);
}
function onClose(this: SocketWithConnection): void {
  this[kConnection]?.closed();
}
function onError(this: SocketWithConnection, err: Error): void {
  this[kConnection]?.socketError(err);
}

/** Ties `socket` to `conn`: shared listeners, the connection found on the socket. */
export function attachSocket(socket: net.Socket, conn: OnreadTarget, usesOnread: boolean): void {
  (socket as SocketWithConnection)[kConnection] = conn;
  if (!usesOnread) socket.on('data', onData);
  socket.on('close', onClose);
  socket.on('error', onError);
}

/**
 * onread hooks: module-level functions, the connection found on the socket.
 * Node calls `callback` with `this` = the socket and then, at once and
 * synchronously, `buffer()` with no `this`; so the callback leaves the next
 * buffer in `nextLent` for `buffer()` to hand over.
 */
let nextLent: Buffer = LANDING;
export const onreadHooks = {
  buffer(): Uint8Array {
    const buf = nextLent;
    nextLent = LANDING;
    return buf;
  },
  callback(this: net.Socket, nread: number): boolean {
    const conn = (this as SocketWithConnection)[kConnection];
    if (conn === undefined) return false;
    const more = conn.onRead(nread);
    nextLent = conn.lent;
    return more;
  },
};

