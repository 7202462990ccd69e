/**
 * Runtime limit 1: a TCP sink on `'data'` events that only counts bytes.
 * No parsing, no validation: what a Node server pays just to receive
 * (a fresh 64 KiB chunk per read, allocated by Node).
 *
 *   fork: raw-data-sink.ts --connections N   (see session.ts for the protocol;
 *         over TLS when PKT_BENCH_TLS_CERT/KEY are set: the bare Node TLS server of the tls suite)
 */
import type net from 'node:net';
import { createBenchServer, listen, sessionFromArgv } from './session.js';

const session = sessionFromArgv();

await listen(
  createBenchServer((socket: net.Socket) => {
    socket.on('data', (chunk: Buffer) => {
      session.begin();
      session.bytes += chunk.length;
      session.end();
    });
    socket.on('error', () => {});
    socket.on('close', () => session.connectionClosed());
  }),
);
