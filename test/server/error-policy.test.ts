import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/wire/encode.js';
import { connect, Recorder, sendAndClose, startServer, until, type LiveServer } from '../helpers/live-server.js';

const good = (i: number) => encodeFrame({ sourceId: 's', destId: 'd', payload: Buffer.from(`frame-${i}`) });
const badCrc = (i: number) => encodeFrame({ sourceId: 's', destId: 'd', payload: Buffer.from(`frame-${i}`), checksum: 0xdeadbeef });
const badVersion = (i: number) => encodeFrame({ sourceId: 's', destId: 'd', payload: Buffer.from(`frame-${i}`), version: 9 });

let live: LiveServer | null = null;
afterEach(async () => {
  await live?.stop();
  live = null;
});

async function run(overrides: Record<string, unknown>, stream: Buffer[]) {
  const rec = new Recorder();
  live = await startServer(overrides, { handlers: [{ name: 'rec', handler: rec }] });
  const socket = await connect(live.tcpPort);
  await sendAndClose(socket, stream);
  await until(() => live!.server.stats.connectionsActive === 0, 5000, 'connection closed');
  return { rec, stats: live.server.stats };
}

describe('error policies', () => {
  it('onChecksumError drop: skips only the bad frame and goes on', async () => {
    const { rec, stats } = await run({ onChecksumError: 'drop' }, [good(0), badCrc(1), good(2)]);
    expect(rec.all.map((p) => p.payload.toString())).toEqual(['frame-0', 'frame-2']);
    expect(stats.frameErrors.crc_mismatch).toBe(1);
  });

  it('onChecksumError close: closes the connection at the bad frame', async () => {
    const { rec, stats } = await run({ onChecksumError: 'close' }, [good(0), badCrc(1), good(2)]);
    expect(rec.all.map((p) => p.payload.toString())).toEqual(['frame-0']);
    expect(stats.frameErrors.crc_mismatch).toBe(1);
    expect(stats.frameErrors.truncated).toBe(0);
  });

  it('onFrameError close: delivers what came before, closes, counts the reason once', async () => {
    const { rec, stats } = await run({ onFrameError: 'close' }, [good(0), good(1), badVersion(2), good(3)]);
    expect(rec.all.map((p) => p.payload.toString())).toEqual(['frame-0', 'frame-1']);
    expect(stats.frameErrors.unsupported_version).toBe(1);
  });

  it('onFrameError resync: skips to the next magic and delivers the frames after it', async () => {
    const garbage = Buffer.from('garbage without any magic at all');
    const { rec, stats } = await run({ onFrameError: 'resync' }, [good(0), garbage, good(1), badVersion(2), good(3)]);
    expect(rec.all.map((p) => p.payload.toString())).toEqual(['frame-0', 'frame-1', 'frame-3']);
    // One error per frame start that fails: the garbage, then the bad version.
    expect(stats.frameErrors.bad_magic).toBe(1);
    expect(stats.frameErrors.unsupported_version).toBe(1);
  });

  it('rejects a 4 GiB payload_len at once, before any payload arrives', async () => {
    const rec = new Recorder();
    live = await startServer({ onFrameError: 'close' }, { handlers: [{ name: 'rec', handler: rec }] });
    const header = good(0).subarray(0, 12);
    header.writeUInt32LE(0xffffffff, 8);
    const socket = await connect(live.tcpPort);
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.on('error', () => {});
    socket.write(header); // and nothing more: the server must not wait
    socket.resume();
    await closed;
    expect(live.server.stats.frameErrors.frame_too_large).toBe(1);
    expect(live.server.stats.ringBytes).toBe(0);
  });
});
