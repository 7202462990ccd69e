/**
 * The handshake storm's client (forked by bench/tls/storm.ts): opens
 * `--count` TLS connections to 127.0.0.1:`--port` all at once, each sends
 * one frame once its handshake is done and closes; prints one JSON line
 * { ok, failed, firstError, seconds } when every connection has closed.
 */
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import { parseArgs } from 'node:util';
import { encodeFrame } from '../../src/wire/encode.js';

const { values } = parseArgs({ options: { port: { type: 'string' }, count: { type: 'string' }, ca: { type: 'string' } } });
const port = Number(values.port);
const count = Number(values.count);
const ca = fs.readFileSync(values.ca as string);
const frame = encodeFrame({ sourceId: 'storm', destId: 'bench', payload: Buffer.alloc(64, 1) });

let ok = 0;
let failed = 0;
let firstError: string | null = null;
const started = performance.now();
await Promise.all(
  Array.from(
    { length: count },
    () =>
      new Promise<void>((resolve) => {
        let done = false;
        const socket = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
          done = true;
          ok++;
          socket.end(frame);
        });
        socket.on('error', (err) => {
          firstError ??= err.message;
        });
        socket.resume();
        socket.on('close', () => {
          if (!done) failed++;
          resolve();
        });
      }),
  ),
);
process.stdout.write(`${JSON.stringify({ ok, failed, firstError, seconds: (performance.now() - started) / 1000 })}\n`);
