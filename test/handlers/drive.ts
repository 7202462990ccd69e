/**
 * Test plumbing: one connection's FrameReader wired to a handler the way
 * the server does it (onPacket per frame, onBatchEnd per read, promises
 * held), plus frame helpers. Not a test file itself.
 */
import { pino } from 'pino';
import { FrameReader, type ErrorPolicy } from '../../src/frame/frame-reader.js';
import type { PacketView } from '../../src/frame/packet-view.js';
import type { ConnectionInfo, PacketHandler } from '../../src/handlers/types.js';
import { IngestStats } from '../../src/metrics/ingest-stats.js';
import { RingPool } from '../../src/ring/pool.js';
import { encodeFrame, type FrameInput } from '../../src/wire/encode.js';

export const silent = pino({ level: 'silent' });

export function connectionInfo(id: number): ConnectionInfo {
  return { id, remoteAddress: '127.0.0.1', remotePort: 40000 + id, tls: null, openedAt: Date.now(), packets: 0, log: silent };
}

export function frame(i: number, over: Partial<FrameInput> = {}): Buffer {
  return encodeFrame({
    sourceId: `src-${i % 3}`,
    destId: 'dst',
    payload: Buffer.alloc(1 + ((i * 37) % 200), i & 0xff),
    timestamp: 1_700_000_000_000_000 + i,
    ...over,
  });
}

export function frames(n: number, from = 0, over: Partial<FrameInput> = {}): Buffer[] {
  return Array.from({ length: n }, (_, k) => frame(from + k, over));
}

/** Splits a capture (or stream) into its frames; throws on a torn or bad one. */
export function splitFrames(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (bytes.length - at < 12 || bytes.readUInt32LE(at) !== 0x00544b50) throw new Error(`no frame at ${at}`);
    const length = bytes.readUInt16LE(at + 6) + bytes.readUInt32LE(at + 8);
    if (at + length > bytes.length) throw new Error(`torn frame at ${at}`);
    out.push(bytes.subarray(at, at + length));
    at += length;
  }
  return out;
}

const POLICY: ErrorPolicy = { onFrameError: 'close', onChecksumError: 'drop' };

export class Driver {
  readonly reader: FrameReader;
  readonly connection: ConnectionInfo;
  readonly holdErrors: unknown[] = [];
  private batch: Promise<void>[] = [];

  constructor(handler: PacketHandler, connection: ConnectionInfo, ringBytes = 1 << 16) {
    this.connection = connection;
    const reader: FrameReader = new FrameReader(
      new RingPool(ringBytes),
      { maxPayloadBytes: 1 << 20, maxHeaderBytes: 4096 },
      POLICY,
      new IngestStats(),
      {
        onFrame: (view: PacketView) => {
          const held = handler.onPacket(view, connection);
          if (held) {
            reader.hold(held, 0);
            reader.decoder.detachView();
            this.batch.push(held);
          }
        },
        onBatchEnd: () => {
          const held = handler.onBatchEnd?.(connection);
          if (held) {
            reader.hold(held, 0);
            this.batch.push(held);
          }
        },
        onFrameError: (reason) => {
          if (reason !== 'crc_mismatch') throw new Error(`unexpected frame error ${reason}`);
        },
        onHoldError: (_index, error) => this.holdErrors.push(error),
      },
    );
    this.reader = reader;
  }

  /** One socket read of `bytes` (must fit the ring's free room): one batch. Resolves when its holds settle. */
  read(bytes: Buffer): Promise<void> {
    const region = this.reader.reserveRead();
    if (region === null || region.length < bytes.length) throw new Error('test ring too small for this read');
    region.set(bytes);
    this.batch = [];
    this.reader.committed(bytes.length);
    const held = this.batch;
    return Promise.all(held).then(() => undefined);
  }
}
