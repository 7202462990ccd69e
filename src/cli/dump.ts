/**
 * `pkt-ingest dump`: the frames of capture files on stdout, one line each.
 *
 * Output goes out in large writes (lines gather in a Buffer up to
 * FLUSH_BYTES, and every FLUSH_MS while following), never one write per
 * frame; a closed stdout (`| head`) ends the run quietly with exit 0.
 * Exit 1 at the first invalid frame, after the lines before it are out.
 */
import fs from 'node:fs';
import { captureFiles } from '../capture/capture-files.js';
import { CaptureFrameError } from '../capture/errors.js';
import { readCapture, type CaptureReader } from '../capture/read-capture.js';
import type { PacketView } from '../frame/packet-view.js';
import { textLine } from './dump-format.js';
import { JsonLineWriter } from './json-line-writer.js';
import { missingCapture } from './capture-input.js';
import { si, startProgress } from './progress.js';
import type { DumpCommand } from './tool-args.js';

const FLUSH_BYTES = 256 * 1024;
/** Room for a full flush plus one more line of the usual size. */
const OUT_BYTES = FLUSH_BYTES + 64 * 1024;
const FLUSH_MS = 100;

export interface DumpIo {
  out: NodeJS.WritableStream & { isTTY?: boolean };
  err: NodeJS.WritableStream;
  /** Ends a --follow (the CLI wires SIGINT to it). */
  signal?: AbortSignal;
}

export async function runDump(cmd: DumpCommand, io: DumpIo): Promise<number> {
  const absent = missingCapture(cmd.files, cmd.follow);
  if (absent !== null) {
    io.err.write(`pkt-ingest: dump: no such file: ${absent}\n`);
    return 2;
  }
  const single = cmd.files.length === 1;
  const reader = readCapture(single ? cmd.files[0] : cmd.files, { follow: cmd.follow, signal: io.signal });
  const headers = !cmd.json && (!single || captureFiles(cmd.files[0]).length > 1);
  const json = cmd.json ? new JsonLineWriter(cmd.payload ?? 'base64') : null;
  const total = cmd.follow ? 0 : cmd.files.flatMap((f) => (single ? captureFiles(f) : [f])).reduce((n, f) => n + sizeOf(f), 0);
  const progress = io.out.isTTY || cmd.follow ? null : startProgress(() => `dump: ${si(reader.frames)} frames, ${si(reader.bytesRead)}B of ${si(total)}B`);

  // Lines gather in a fixed Buffer (one native write per line, no string ropes), flushed as one write.
  let out = Buffer.allocUnsafe(OUT_BYTES);
  let fill = 0;
  let closed = false;
  let printed = 0;
  let lastFile = '';
  const limit = cmd.limit ?? Infinity;
  const onError = (e: NodeJS.ErrnoException): void => {
    if (e.code !== 'EPIPE') io.err.write(`pkt-ingest: dump: cannot write output: ${e.message}\n`);
    closed = true;
  };
  io.out.on('error', onError);
  const flush = async (): Promise<void> => {
    if (fill === 0 || closed) return;
    const chunk = out.subarray(0, fill);
    out = Buffer.allocUnsafe(OUT_BYTES); // the stream may still hold the last chunk
    fill = 0;
    if (!io.out.write(chunk)) await drained(io.out);
  };
  /** Makes room for `need` more bytes: rare (a long line); order is kept by the stream. */
  const room = (need: number): void => {
    if (fill + need <= out.length) return;
    if (fill > 0) void io.out.write(out.subarray(0, fill));
    out = Buffer.allocUnsafe(Math.max(OUT_BYTES, need));
    fill = 0;
  };
  const emit = (line: string): void => {
    room(line.length * 3);
    fill += out.write(line, fill);
  };
  const timer = cmd.follow ? setInterval(() => void flush(), FLUSH_MS) : null;

  const take = (view: PacketView): void => {
    if (cmd.source !== undefined && view.sourceId !== cmd.source) return;
    if (cmd.dest !== undefined && view.destId !== cmd.dest) return;
    if (reader.file !== lastFile) {
      if (headers || lastFile !== '') emit(`==> ${reader.file} <==\n`);
      lastFile = reader.file;
    }
    if (json === null) emit(textLine(view, cmd.payload));
    else {
      room(json.bound(view));
      fill = json.write(view, out, fill);
    }
    printed++;
  };

  let code = 0;
  try {
    if (cmd.follow) {
      for await (const view of reader) {
        take(view);
        if (printed >= limit || closed) break;
        if (fill >= FLUSH_BYTES) await flush();
      }
    } else {
      await dumpSync(reader, take, () => printed >= limit || closed, () => fill >= FLUSH_BYTES, flush);
    }
  } catch (err) {
    if (!(err instanceof CaptureFrameError)) throw err;
    await flush();
    io.err.write(`pkt-ingest: dump: ${err.message}\n`);
    code = 1;
  } finally {
    if (timer !== null) clearInterval(timer);
    progress?.stop();
    reader.close();
  }
  await flush();
  io.out.off('error', onError);
  return code;
}

/** The fast path: synchronous reads; output is written (and its backpressure awaited) once FLUSH_BYTES gathered. */
async function dumpSync(
  reader: CaptureReader,
  take: (v: PacketView) => void,
  stop: () => boolean,
  full: () => boolean,
  flush: () => Promise<void>,
): Promise<void> {
  for (;;) {
    const r = reader.nextSync();
    if (r.done) return;
    take(r.value);
    if (stop()) return;
    if (full()) await flush();
  }
}

function sizeOf(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

/** Resolves on 'drain', or on 'error'/'close' (the error itself is handled by the listener in runDump). */
function drained(out: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      out.off('drain', done);
      out.off('error', done);
      out.off('close', done);
      resolve();
    };
    out.on('drain', done);
    out.on('error', done);
    out.on('close', done);
  });
}
