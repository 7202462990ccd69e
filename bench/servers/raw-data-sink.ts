/**
 * Runtime limit 1: a TCP sink on `'data'` events that only counts bytes.
 * No parsing, no validation: what a Node server pays just to receive
 * (a fresh 64 KiB chunk per read, allocated by Node).
 *
 *   fork: raw-data-sink.ts --connections N   (see session.ts for the protocol)
 */
import net from 'node:net';
import { listen, sessionFromArgv } from './session.js';

const session = sessionFromArgv();

await listen(
  net.createServer((socket) => {
    socket.on('data', (chunk: Buffer) => {
      session.begin();
      session.bytes += chunk.length;
      session.end();
    });
    socket.on('error', () => {});
    socket.on('close', () => session.connectionClosed());
  }),
);
