/**
 * Accepting connections whose bytes go straight from the kernel into our
 * buffers.
 *
 * Node's `net.Socket` can read into caller-owned memory (`onread: { buffer,
 * callback }`), but only sockets we construct get that option: `net.Server`
 * builds its own Socket for every accepted handle. So, once the server
 * listens, we take over its handle's `onconnection` (the libuv accept
 * callback, `(err, clientHandle)`) and build `new net.Socket({ handle,
 * onread })` ourselves. That skips net.Server's per-connection Socket, its
 * `maxConnections` and its connection count (we keep our own).
 *
 * These are Node internals (`server._handle.onconnection`,
 * `handle.useUserBuffer`), stable since Node 12 but not public API:
 * `test/socket/onread-accept.test.ts` fails loudly if a Node upgrade breaks
 * them, and `supportsOnread()` false sends the server down the `'data'`
 * event path (a copy into the ring per chunk) instead.
 */
import net from 'node:net';
import { StateError } from '../errors.js';

/**
 * The onread callbacks. Node calls `callback` with `this` = the socket, and
 * `buffer` (for the next read) right after it with no `this` at all.
 */
export interface OnreadHooks {
  buffer: () => Uint8Array;
  callback: (this: net.Socket, nread: number, buf: Uint8Array) => boolean;
}

interface ServerInternals {
  _handle?: { onconnection?: (err: number, clientHandle: unknown) => void } | null;
}

interface SocketInternals {
  _handle?: { useUserBuffer?: (buf: Uint8Array) => void } | null;
}

/** True if this Node exposes the internals the onread path needs. */
export function supportsOnread(server: net.Server): boolean {
  const handle = (server as unknown as ServerInternals)._handle;
  return typeof handle?.onconnection === 'function';
}

/**
 * Replaces a listening server's accept callback. `accept(socket)` receives
 * sockets already reading into `hooks.buffer()` regions, or null (with the
 * libuv error code) when accept failed.
 */
export function acceptWithOnread(
  server: net.Server,
  hooks: OnreadHooks,
  accept: (socket: net.Socket) => void,
  acceptError: (code: number) => void,
): void {
  const handle = (server as unknown as ServerInternals)._handle;
  if (!handle || typeof handle.onconnection !== 'function') throw new StateError('acceptWithOnread: the server is not listening with a TCP handle (call it after listen())');
  handle.onconnection = (err: number, clientHandle: unknown): void => {
    if (err) {
      acceptError(err);
      return;
    }
    const socket = new net.Socket({
      handle: clientHandle,
      allowHalfOpen: false,
      readable: true,
      writable: true,
      onread: hooks,
    } as net.SocketConstructorOpts);
    accept(socket);
  };
}

/**
 * Points a reading socket at another buffer for its next read (without a
 * read in between, which is the only moment onread asks for one). Returns
 * false if this Node lacks the hook. Each call adds a native listener that
 * lives until the socket closes (Node's UseUserBuffer): call it rarely.
 */
export function lendBuffer(socket: net.Socket, buf: Uint8Array): boolean {
  const handle = (socket as unknown as SocketInternals)._handle;
  if (!handle || typeof handle.useUserBuffer !== 'function') return false;
  handle.useUserBuffer(buf);
  // net.Socket also keeps the last buffer it was given (symbol kBuffer): replace it, or it pins the old one.
  kBuffer ??= Object.getOwnPropertySymbols(socket).find((s) => s.description === 'kBuffer') ?? null;
  if (kBuffer !== null) (socket as unknown as Record<symbol, unknown>)[kBuffer] = buf;
  return true;
}

let kBuffer: symbol | null | undefined;

/** net.Socket's onread state (internal symbols, found by name on any socket). */
let onreadSymbols: { buffer: symbol; callback: symbol; generator: symbol } | null | undefined;

function findOnreadSymbols(socket: net.Socket): typeof onreadSymbols {
  const own = Object.getOwnPropertySymbols(socket);
  const find = (name: string) => own.find((s) => s.description === name);
  const [buffer, callback, generator] = [find('kBuffer'), find('kBufferCb'), find('kBufferGen')];
  return buffer && callback && generator ? { buffer, callback, generator } : null;
}

/**
 * Turns a socket Node built without `onread` (a TLSSocket after its
 * handshake) into one that reads into `first`, then into what
 * `hooks.buffer()` returns, as if it had been built with `onread: hooks`:
 * TLS cleartext is then copied by Node straight from OpenSSL into our ring
 * (TLSWrap's ClearOut asks its listener for each buffer), instead of into a
 * new Buffer per 16 KiB record that the 'data' path copies again, through
 * the stream machinery, and leaves to the GC. False (nothing changed) if
 * this Node lacks the internals, or if the socket already queued bytes for
 * 'data' (they must come first: the caller stays on the 'data' path).
 */
export function adoptOnread(socket: net.Socket, hooks: OnreadHooks, first: Uint8Array): boolean {
  const handle = (socket as unknown as SocketInternals)._handle;
  if (!handle || typeof handle.useUserBuffer !== 'function' || socket.readableLength > 0) return false;
  const symbols = (onreadSymbols ??= findOnreadSymbols(socket));
  if (!symbols) return false;
  const state = socket as unknown as Record<symbol, unknown>;
  state[symbols.buffer] = first;
  state[symbols.generator] = hooks.buffer;
  state[symbols.callback] = hooks.callback;
  handle.useUserBuffer(first);
  return true;
}
