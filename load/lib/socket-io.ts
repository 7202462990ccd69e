/** The few socket operations the load generator awaits, each failing with a plain message. */
import type net from 'node:net';
import { connectSocket, readyEvent, type ClientTlsOptions } from '../../src/producer/connect.js';

export class LoadConnectionError extends Error {
  override readonly name = 'LoadConnectionError';
}

/** Connects with Nagle off (over TLS with `tls`: once the handshake is done); rejects after `timeoutMs` or on the first error. */
export function connectTo(host: string, port: number, timeoutMs: number, tls?: ClientTlsOptions): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = connectSocket(host, port, tls);
    const timer = setTimeout(() => fail(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
    function fail(err: Error): void {
      clearTimeout(timer);
      socket.destroy();
      reject(new LoadConnectionError(`cannot connect to ${host}:${port}: ${err.message}`, { cause: err }));
    }
    socket.once('error', fail);
    socket.once(readyEvent(tls), () => {
      clearTimeout(timer);
      socket.off('error', fail);
      // Later errors surface through waitDrain/finish (socket.errored); without a listener they would crash us.
      socket.on('error', () => {});
      // The server sends nothing; reading lets us see its FIN.
      socket.resume();
      resolve(socket);
    });
  });
}

function lostError(socket: net.Socket, address: string): LoadConnectionError {
  const cause = socket.errored?.message ?? 'closed by the server';
  return new LoadConnectionError(`connection to ${address} lost: ${cause}`);
}

/** Resolves on 'drain'; rejects if the socket closes first. */
export function waitDrain(socket: net.Socket, address: string): Promise<void> {
  if (socket.destroyed) return Promise.reject(lostError(socket, address));
  return new Promise((resolve, reject) => {
    const onDrain = (): void => {
      socket.off('close', onClose);
      resolve();
    };
    const onClose = (): void => {
      socket.off('drain', onDrain);
      reject(lostError(socket, address));
    };
    socket.once('drain', onDrain);
    socket.once('close', onClose);
  });
}

/**
 * Sends FIN and resolves once everything written is handed to the kernel
 * ('finish'); then gives the server `lingerMs` to close its side before
 * resetting, so the process never waits on a server that keeps it open.
 */
export function finish(socket: net.Socket, address: string, lingerMs: number): Promise<void> {
  if (socket.destroyed) return Promise.reject(lostError(socket, address));
  return new Promise((resolve, reject) => {
    const onClose = (): void => {
      socket.off('finish', onFinish);
      reject(lostError(socket, address));
    };
    const onFinish = (): void => {
      socket.off('close', onClose);
      const timer = setTimeout(() => socket.destroy(), lingerMs);
      socket.once('close', () => clearTimeout(timer));
      resolve();
    };
    socket.once('close', onClose);
    socket.once('finish', onFinish);
    socket.end();
  });
}

/** Resolves when the socket is fully closed. */
export function whenClosed(socket: net.Socket): Promise<void> {
  if (socket.closed) return Promise.resolve();
  return new Promise((resolve) => socket.once('close', () => resolve()));
}
