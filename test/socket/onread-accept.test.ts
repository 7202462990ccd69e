import net from 'node:net';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { acceptWithOnread, lendBuffer, supportsOnread } from '../../src/socket/onread-accept.js';

// These internals are what the fast path stands on. If a Node upgrade
// breaks them, this file fails and says which one.

async function listening(): Promise<net.Server> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

describe('onread accept hook (Node internals)', () => {
  it('finds server._handle.onconnection on a listening TCP server', async () => {
    const server = await listening();
    expect(supportsOnread(server), 'net.Server._handle.onconnection is gone: the onread path is unavailable').toBe(true);
    server.close();
  });

  it('reads an accepted connection straight into the buffer we lend, and sees its FIN', async () => {
    const server = await listening();
    const mine = Buffer.alloc(8);
    const received: string[] = [];
    const accepted = new Promise<net.Socket>((resolve) => {
      acceptWithOnread(
        server,
        {
          buffer: () => mine,
          callback: (n, buf) => {
            expect(buf).toBe(mine);
            received.push(mine.toString('latin1', 0, n));
            return true;
          },
        },
        resolve,
        () => {},
      );
    });
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    const socket = await accepted;
    const closed = once(socket, 'close');
    client.end('hello, ring!');
    await closed;
    expect(received.join('')).toBe('hello, ring!');
    expect(received.length).toBeGreaterThan(1); // 12 bytes through an 8-byte buffer
    server.close();
  });

  it('switches the read buffer between reads with handle.useUserBuffer', async () => {
    const server = await listening();
    const first = Buffer.alloc(64);
    const second = Buffer.alloc(64);
    let lent = first;
    const landedIn: Buffer[] = [];
    let socket!: net.Socket;
    const gotOne = new Promise<void>((resolve) => {
      acceptWithOnread(
        server,
        {
          buffer: () => lent,
          callback: () => {
            landedIn.push(lent);
            resolve();
            // Pause after the first read: the next buffer is lent explicitly.
            return landedIn.length > 1;
          },
        },
        (s) => (socket = s),
        () => {},
      );
    });
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    client.write('one');
    await gotOne;
    expect(lendBuffer(socket, second), 'net handle.useUserBuffer is gone').toBe(true);
    lent = second;
    const gotTwo = new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
    });
    socket.resume();
    client.end('two');
    await gotTwo;
    expect(landedIn).toEqual([first, second]);
    expect(first.toString('latin1', 0, 3)).toBe('one');
    expect(second.toString('latin1', 0, 3)).toBe('two');
    server.close();
  });
});
