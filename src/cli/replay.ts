/**
 * `pkt-ingest replay`: sends the frames of capture files to a server
 * through the public Producer, byte-exact and in order.
 *
 *   reader --view--> copy into the batch of its connection --sendRaw--> Producer
 *                    (source id hash picks the connection: per-source order holds)
 *
 * A view is only valid until the next frame, so each frame is copied once,
 * into a 256 KiB batch per connection; a full batch is handed to sendRaw()
 * (which keeps it, uncopied, until written) and a fresh one begins.
 * Backpressure: past the producer's high-water mark we await drain().
 * Without acknowledgements a lost connection means frames may be lost:
 * the run stops with exit 1 (no reconnect, no silent resend).
 *
 * --acks: ACK_REQUEST is set on each copied frame (the flags byte, the
 * only byte that changes; the CRC covers the payload only); the producer
 * keeps every frame until an ACK covers it, reconnects (backoff, at most
 * MAX_RECONNECTS attempts in a row) and resends what was not acknowledged,
 * and the run ends once every frame was acknowledged (flush()).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { CaptureFrameError } from '../capture/errors.js';
import { readCapture } from '../capture/read-capture.js';
import type { PacketView } from '../frame/packet-view.js';
import { Producer, ProducerError } from '../producer/producer.js';
import { Flags, OFFSET_FLAGS } from '../wire/constants.js';
import { missingCapture } from './capture-input.js';
import { si, startProgress } from './progress.js';
import type { ReplayCommand } from './tool-args.js';

const BATCH_BYTES = 256 * 1024;
/** --acks: give up after this many failed reconnects in a row (about 10 s with the backoff below). */
export const MAX_RECONNECTS = 8;
const ACK_RECONNECT = { minMs: 100, maxMs: 2000 };

export interface ReplaySummary {
  frames: number;
  bytes: number;
  seconds: number;
  connections: number;
  /** --acks: frames the server acknowledged, and frames sent again after a lost connection. */
  acked?: number;
  resent?: number;
}

interface Lane {
  producer: Producer;
  batch: Buffer;
  fill: number;
}

/** FNV-1a of the source id bytes: the same source always takes the same lane. */
function laneOf(view: PacketView, lanes: number): number {
  let h = 0x811c9dc5;
  const buf = view.buffer;
  for (let i = view.sourceStart; i < view.sourceEnd; i++) h = Math.imul(h ^ buf[i], 0x01000193);
  return (h >>> 0) % lanes;
}

export async function replayFrames(cmd: ReplayCommand, onProgress?: (s: ReplaySummary) => void): Promise<ReplaySummary> {
  const lanes: Lane[] = [];
  for (let i = 0; i < cmd.connections; i++) {
    const producer = new Producer({ host: cmd.host, port: cmd.port, reconnect: cmd.acks ? ACK_RECONNECT : false, acks: cmd.acks });
    producer.on('error', () => {}); // the failure surfaces through send/drain/flush/close
    // Closing while frames are unacknowledged makes flush() reject ('undelivered'): exit 1.
    if (cmd.acks) producer.on('reconnecting', ({ attempt }) => void (attempt > MAX_RECONNECTS && producer.close().catch(() => {})));
    lanes.push({ producer, batch: Buffer.allocUnsafe(BATCH_BYTES), fill: 0 });
  }
  const summary: ReplaySummary = { frames: 0, bytes: 0, seconds: 0, connections: cmd.connections };
  const start = performance.now();
  const tick = onProgress && setInterval(() => onProgress({ ...summary, seconds: (performance.now() - start) / 1000 }), 250);
  try {
    await Promise.all(lanes.map((l) => l.producer.connect()));
    const send = async (lane: Lane): Promise<void> => {
      if (lane.fill === 0) return;
      const ok = lane.producer.sendRaw(lane.batch.subarray(0, lane.fill));
      lane.batch = Buffer.allocUnsafe(BATCH_BYTES);
      lane.fill = 0;
      if (!ok) await lane.producer.drain();
    };
    const reader = readCapture(cmd.files.length === 1 ? cmd.files[0] : cmd.files);
    let allowed = cmd.rate > 0 ? 1 : Infinity;
    for (;;) {
      const r = reader.nextSync();
      if (r.done) break;
      const view = r.value;
      if (summary.frames >= allowed) {
        // Paced: send what is batched, then wait until the rate allows more.
        for (const lane of lanes) await send(lane);
        const elapsed = performance.now() - start;
        allowed = Math.floor((cmd.rate * elapsed) / 1000) + 1;
        if (summary.frames >= allowed) {
          await sleep(Math.max(1, ((summary.frames + 1) * 1000) / cmd.rate - elapsed));
          allowed = Math.floor((cmd.rate * (performance.now() - start)) / 1000) + 1;
        }
      }
      const lane = lanes[lanes.length === 1 ? 0 : laneOf(view, lanes.length)];
      const n = view.frameLength;
      if (n > BATCH_BYTES) {
        await send(lane);
        const own = Buffer.from(view.frame);
        if (cmd.acks) own[OFFSET_FLAGS] |= Flags.ACK_REQUEST;
        if (!lane.producer.sendRaw(own)) await lane.producer.drain();
      } else {
        if (lane.fill + n > BATCH_BYTES) await send(lane); // the view stays valid: no reader step in between
        view.buffer.copy(lane.batch, lane.fill, view.frameStart, view.frameStart + n);
        if (cmd.acks) lane.batch[lane.fill + OFFSET_FLAGS] |= Flags.ACK_REQUEST;
        lane.fill += n;
      }
      summary.frames++;
      summary.bytes += n;
    }
    for (const lane of lanes) await send(lane);
    if (cmd.acks) await Promise.all(lanes.map((l) => l.producer.flush()));
    await Promise.all(lanes.map((l) => l.producer.close()));
  } catch (err) {
    for (const l of lanes) void l.producer.close().catch(() => {});
    throw err;
  } finally {
    if (tick) clearInterval(tick);
    summary.seconds = (performance.now() - start) / 1000;
    if (cmd.acks) {
      summary.acked = lanes.reduce((n, l) => n + l.producer.stats.acked, 0);
      summary.resent = lanes.reduce((n, l) => n + l.producer.stats.resent, 0);
    }
  }
  return summary;
}

export function formatSummary(s: ReplaySummary): string {
  const rate = s.seconds > 0 ? s.frames / s.seconds : 0;
  const acked = s.acked === undefined ? '' : `; acknowledged ${s.acked}, resent ${s.resent ?? 0}`;
  return `replay: sent ${s.frames} frames (${s.bytes} bytes) over ${s.connections} connection${s.connections === 1 ? '' : 's'} in ${s.seconds.toFixed(3)} s (${si(rate)} frames/s)${acked}`;
}

export async function runReplay(cmd: ReplayCommand): Promise<number> {
  const absent = missingCapture(cmd.files, false);
  if (absent !== null) {
    process.stderr.write(`pkt-ingest: replay: no such file: ${absent}\n`);
    return 2;
  }
  let last: ReplaySummary = { frames: 0, bytes: 0, seconds: 0, connections: cmd.connections };
  const progress = startProgress(() => `replay: ${si(last.frames)} frames, ${si(last.bytes)}B, ${si(last.seconds > 0 ? last.frames / last.seconds : 0)} frames/s`);
  try {
    const summary = await replayFrames(cmd, (s) => (last = s));
    progress.stop();
    process.stdout.write(`${formatSummary(summary)}\n`);
    return 0;
  } catch (err) {
    progress.stop();
    if (err instanceof CaptureFrameError) {
      process.stderr.write(`pkt-ingest: replay: ${err.message}; the frames before it were sent\n`);
      return 1;
    }
    if (err instanceof ProducerError) {
      process.stderr.write(`pkt-ingest: replay: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}
