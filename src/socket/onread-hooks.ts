/**
 * The onread hooks every socket of the server shares (no closures per
 * connection), and LANDING, the buffer reads land in while a connection
 * has no ring region to offer. See connection.ts for when that is and why
 * LANDING is shared (each read is handled synchronously).
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
}

interface SocketWithConnection extends net.Socket {
  [kConnection]?: OnreadTarget;
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

