/**
 * Runtime limit 2: a TCP sink reading with `onread` into one reused buffer,
 * through the same accept hook as pkt-ingest (acceptWithOnread), counting
 * bytes. No allocation per read, no parsing: the fastest a Node server can
 * take bytes off a socket; pkt-ingest's ceiling.
 *
 * The buffer is as large as pkt-ingest's default ring (256 KiB), so both
 * read at most that much per syscall. All connections share it: each read
 * is counted synchronously, before the next read can land.
 *
 *   fork: raw-onread-sink.ts --connections N   (see session.ts for the protocol)
 */
import net from 'node:net';
import { acceptWithOnread } from '../../src/socket/onread-accept.js';
import { listen, sessionFromArgv } from './session.js';

const READ_BUFFER = Buffer.allocUnsafeSlow(256 * 1024);
const session = sessionFromArgv();
const server = net.createServer();

await listen(server, () =>
  acceptWithOnread(
    server,
    {
      buffer: () => READ_BUFFER,
      callback(nread: number): boolean {
        session.begin();
        session.bytes += nread;
        session.end();
        return true; // keep reading
      },
    },
    (socket) => {
      socket.on('error', () => {});
      socket.on('close', () => session.connectionClosed());
    },
    () => {},
  ),
);
