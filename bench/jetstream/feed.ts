/**
 * Feeds a handler the way the server does, in-process and without sockets:
 * each simulated connection has its own FrameReader and ring, reads land in
 * 64 KiB steps, onPacket per frame and onBatchEnd per read, and a promise
 * from the handler holds the ring (a full ring waits for onRoom, as a
 * paused socket would). The event loop turns between rounds of reads, so
 * acknowledgements are processed as they would be between socket reads.
 */
import { setImmediate as turn } from 'node:timers/promises';
import { pino } from 'pino';
import { FrameReader } from '../../src/frame/frame-reader.js';
import type { PacketView } from '../../src/frame/packet-view.js';
import type { ConnectionInfo, PacketHandler } from '../../src/handlers/types.js';
import { IngestStats } from '../../src/metrics/ingest-stats.js';
import { RingPool } from '../../src/ring/pool.js';

const READ_BYTES = 64 * 1024;
// tcp.ringBytes' default: a message holds at most a ring's worth of frames (its batches hold the ring until copied out).
const RING_BYTES = 256 * 1024;
const SOURCE_BYTES = 4 * 1024 * 1024;

interface Feeder {
  readonly reader: FrameReader;
  readonly connection: { id: number; remoteAddress: string; remotePort: number; openedAt: number; packets: number; log: pino.Logger };
  /** Bytes still to send. */
  left: number;
  /** Position in the cyclic source. */
  at: number;
  room: Promise<void> | null;
}

/** Sends `perConnection` copies of `frame` on each of `connections` connections; resolves when all are handed over. */
export async function feedConnections(
  handler: PacketHandler,
  frame: Buffer,
  perConnection: number,
  connections: number,
  ringBytes = RING_BYTES,
): Promise<void> {
  // Whole frames back to back; cycling through it is the same stream as sending `frame` forever.
  const copies = Math.max(1, Math.floor(SOURCE_BYTES / frame.length));
  const source = Buffer.concat(Array.from({ length: copies }, () => frame));
  const pool = new RingPool(ringBytes);
  const stats = new IngestStats(['jetstream']);
  const feeders: Feeder[] = Array.from({ length: connections }, (_, k) => {
    const connection = { id: k + 1, remoteAddress: '127.0.0.1', remotePort: 50000 + k, openedAt: Date.now(), packets: 0, log: pino({ level: 'silent' }) };
    const info = connection as ConnectionInfo;
    const reader: FrameReader = new FrameReader(
      pool,
      { maxPayloadBytes: 1024 * 1024, maxHeaderBytes: 4096 },
      { onFrameError: 'close', onChecksumError: 'close' },
      stats,
      {
        onFrame(view: PacketView) {
          connection.packets++;
          const held = handler.onPacket(view, info);
          if (held) throw new Error('bench feeder: onPacket promises are not expected from this handler');
        },
        onBatchEnd() {
          const held = handler.onBatchEnd?.(info);
          if (held) reader.hold(held, 0);
        },
        onFrameError(reason) {
          throw new Error(`bench feeder: frame error ${reason}`);
        },
        onHoldError(_i, error) {
          throw error;
        },
      },
    );
    return { reader, connection, left: perConnection * frame.length, at: 0, room: null };
  });

  let active = feeders.length;
  while (active > 0) {
    active = 0;
    const waits: Promise<void>[] = [];
    for (const f of feeders) {
      if (f.left === 0) continue;
      active++;
      const region = f.reader.reserveRead();
      if (region === null) {
        f.room ??= new Promise<void>((resolve) => {
          f.reader.onRoom = () => {
            f.reader.onRoom = null;
            f.room = null;
            resolve();
          };
        });
        waits.push(f.room);
        continue;
      }
      const n = Math.min(region.length, READ_BYTES, f.left, source.length - f.at);
      source.copy(region, 0, f.at, f.at + n);
      f.at = (f.at + n) % source.length;
      f.left -= n;
      f.reader.committed(n);
    }
    // Between reads the event loop turns (acks arrive); when every ring is full, wait for one to free.
    if (waits.length === active && active > 0) await Promise.race(waits);
    else await turn();
  }
  for (const f of feeders) {
    f.reader.end();
    f.reader.close();
    handler.closeConnection?.(f.connection as ConnectionInfo);
  }
}
