/**
 * readCapture(): the frames of capture files as zero-copy PacketViews,
 * through the server's ring and decoder (see FrameCursor).
 *
 *   for (const packet of readCapture('data/capture.pkt')) ...        sync, fastest
 *   for await (const packet of readCapture(path, { follow: true }))  waits for more
 *
 * Lifetime rule, as for handlers: a view (and every Buffer taken from it)
 * is valid until the next iteration step; `packet.copy()` keeps one.
 *
 * Which files: a single path is a capture `path`: its rotated files oldest
 * first (path.N ... path.1), then the live one; an array is read as given
 * (follow applies to its last file). Rotation, while reading:
 *
 *   at end of file F:  F still named `path`?  yes -> live: wait (follow) or end
 *                                             no  -> read F to its end once more
 *                                                    (the writer closed F before
 *                                                    renaming it), then open the
 *                                                    file after F (by inode)
 *
 * so no frame is lost or read twice across rotations. Memory: one ring
 * (ringBytes, default 1 MiB) plus, only while it is current, one frame
 * larger than the ring. Reads are synchronous (page-cache speed); waits
 * in follow mode are not. The reader owns its descriptor and watcher:
 * close() (or leaving a for-of loop early) releases them.
 */
import fs from 'node:fs';
import type { DecoderLimits } from '../frame/frame-decoder.js';
import type { PacketView } from '../frame/packet-view.js';
import { Ring } from '../ring/ring.js';
import { MAX_HEADER_LEN } from '../wire/constants.js';
import { isLive, rotatedSuffixes, rotationPath, successorOf } from './capture-files.js';
import { CaptureFrameError } from './errors.js';
import { FollowWaiter } from './follow-wait.js';
import { FrameCursor } from './frame-cursor.js';

export interface ReadCaptureOptions {
  /** Frame limits; default the widest the server accepts (1 GiB payload, 65535-byte header). */
  limits?: DecoderLimits;
  /** Wait for new frames at the end of the live file, across rotations (async iteration only). */
  follow?: boolean;
  /** Follow mode: look for new bytes at least this often, besides fs.watch. Default 250 ms. */
  pollIntervalMs?: number;
  /** Ends a follow at its next wait. */
  signal?: AbortSignal;
  /** A single path expands to its rotated files (default true). */
  rotated?: boolean;
  /** The ring's size in bytes (default 1 MiB). */
  ringBytes?: number;
  /** Given: bad frames are reported here and skipped (resync). Else the first one throws. */
  onFrameError?: (error: CaptureFrameError) => void;
}

export const READER_LIMITS: DecoderLimits = { maxPayloadBytes: 1024 * 1024 * 1024, maxHeaderBytes: MAX_HEADER_LEN };
const DEFAULT_RING_BYTES = 1024 * 1024;

const READ = 0;
const WAIT = 1;
const END = 2;
type Signal = typeof READ | typeof WAIT | typeof END;

export function readCapture(pathOrPaths: string | readonly string[], options: ReadCaptureOptions = {}): CaptureReader {
  return new CaptureReader(pathOrPaths, options);
}

export class CaptureReader implements Iterable<PacketView>, AsyncIterable<PacketView> {
  /** Frames delivered so far. */
  frames = 0;
  /** Bytes read from files so far. */
  bytesRead = 0;
  private readonly options: ReadCaptureOptions;
  private readonly live: string | null;
  private readonly list: readonly string[];
  private listIndex = 0;
  private readonly cursor: FrameCursor;
  private waiter: FollowWaiter | null = null;
  private fd: number | null = null;
  private ino = -1;
  private lastIno = -1;
  private position = 0;
  private path = '';
  private atEof = false;
  private finalDrain = false;
  private opened = 0;
  private done = false;
  private readonly result: IteratorResult<PacketView> = { value: undefined as unknown as PacketView, done: false };

  constructor(pathOrPaths: string | readonly string[], options: ReadCaptureOptions) {
    this.options = options;
    const rotation = typeof pathOrPaths === 'string' && options.rotated !== false;
    this.live = rotation ? pathOrPaths : null;
    this.list = typeof pathOrPaths === 'string' ? [pathOrPaths] : pathOrPaths;
    const ring = new Ring(Buffer.allocUnsafeSlow(options.ringBytes ?? DEFAULT_RING_BYTES));
    this.cursor = new FrameCursor(ring, options.limits ?? READER_LIMITS);
  }

  /** The file the current frame came from. */
  get file(): string {
    return this.path;
  }

  [Symbol.iterator](): Iterator<PacketView> {
    if (this.options.follow) throw new TypeError('readCapture: follow mode needs `for await` (it waits for new frames)');
    return { next: () => this.nextSync(), return: () => this.finish() };
  }

  [Symbol.asyncIterator](): AsyncIterator<PacketView> {
    return { next: () => this.nextAsync(), return: async () => this.finish() };
  }

  /** The next frame, reading synchronously; not in follow mode. */
  nextSync(): IteratorResult<PacketView> {
    for (;;) {
      const step = this.advance();
      if (typeof step !== 'number') return this.yielded(step);
      if (step === END) return this.finish();
      if (step === WAIT) throw new TypeError('readCapture: follow mode needs `for await`');
      const region = this.cursor.region();
      this.landed(fs.readSync(this.fd as number, region, 0, region.length, this.position));
    }
  }

  /** The next frame; in follow mode it waits for one (or for the signal). */
  async nextAsync(): Promise<IteratorResult<PacketView>> {
    for (;;) {
      const step = this.advance();
      if (typeof step !== 'number') return this.yielded(step);
      if (step === END || this.options.signal?.aborted) return this.finish();
      if (step === WAIT) await this.waiterFor().wait();
      else this.landed(await readAsync(this.fd as number, this.cursor.region(), this.position));
    }
  }

  /** Releases the descriptor and the watcher; iteration ends. */
  close(): void {
    this.finish();
  }

  private waiterFor(): FollowWaiter {
    const watched = this.live ?? this.list[this.list.length - 1];
    return (this.waiter ??= new FollowWaiter(watched, this.options.pollIntervalMs ?? 250, this.options.signal));
  }

  private yielded(view: PacketView): IteratorResult<PacketView> {
    this.frames++;
    this.result.value = view;
    return this.result;
  }

  private finish(): IteratorResult<PacketView> {
    this.done = true;
    this.closeFd();
    this.waiter?.close();
    return { value: undefined, done: true };
  }

  private landed(n: number): void {
    if (n === 0) this.atEof = true;
    else {
      this.cursor.landed(n);
      this.position += n;
      this.bytesRead += n;
    }
  }

  /** A frame, or what the caller must do next: read into cursor.region(), wait, or end. */
  private advance(): PacketView | Signal {
    if (this.done) return END;
    const cursor = this.cursor;
    for (;;) {
      if (this.fd === null) {
        const s = this.openNext();
        if (s !== READ) return s;
      }
      const view = cursor.next();
      if (view !== null) return view;
      if (cursor.error !== null) {
        this.frameError(cursor.error, cursor.decoder.errorOffset);
        cursor.skipError();
        continue;
      }
      if (!this.atEof) return READ;
      this.atEof = false;
      const s = this.atEndOfFile();
      if (s !== READ) return s;
    }
  }

  /** WAIT or END, or READ after moving on (to a last read of a rotated file, or the next file). */
  private atEndOfFile(): Signal {
    const follow = this.options.follow === true;
    if (this.live === null) {
      if (follow && this.listIndex === this.list.length - 1) return WAIT;
      this.finishFile();
      return ++this.listIndex < this.list.length ? READ : END;
    }
    if (isLive(this.live, this.ino)) {
      if (follow) return WAIT;
      this.finishFile();
      return END;
    }
    if (!this.finalDrain) {
      this.finalDrain = true; // rotated away since the last read: take what was written before
      return READ;
    }
    this.finishFile();
    return READ;
  }

  /** Opens the next file; READ when one is open, else WAIT (follow) or END. */
  private openNext(): Signal {
    let path: string;
    if (this.live === null) path = this.list[this.listIndex];
    else if (this.opened === 0) path = rotationPath(this.live, rotatedSuffixes(this.live)[0] ?? 0);
    else path = rotationPath(this.live, successorOf(this.live, this.lastIno));
    let fd: number;
    try {
      fd = fs.openSync(path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || (this.opened === 0 && !this.options.follow)) throw err;
      // Between a rename and the new file (follow), or the live file never came (not following).
      return this.options.follow ? WAIT : END;
    }
    this.fd = fd;
    this.ino = fs.fstatSync(fd).ino;
    this.path = path;
    this.position = 0;
    this.finalDrain = false;
    this.opened++;
    this.cursor.restart();
    return READ;
  }

  private finishFile(): void {
    const cursor = this.cursor;
    if (cursor.pending > 0) {
      const offset = cursor.offset;
      cursor.restart();
      this.frameError('truncated', offset);
    }
    this.lastIno = this.ino;
    this.closeFd();
  }

  private frameError(reason: CaptureFrameError['reason'], offset: number): void {
    const error = new CaptureFrameError(reason, offset, this.path);
    if (this.options.onFrameError === undefined) {
      this.finish();
      throw error;
    }
    this.options.onFrameError(error);
  }

  private closeFd(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}

function readAsync(fd: number, buffer: Buffer, position: number): Promise<number> {
  return new Promise((resolve, reject) => fs.read(fd, buffer, 0, buffer.length, position, (err, n) => (err ? reject(err) : resolve(n))));
}
