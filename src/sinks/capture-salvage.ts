/**
 * The path watcher: is the open descriptor still the file the capture path
 * names? Someone may `rm` the live file or `rm -rf` its directory (the
 * descriptor keeps writing into a file nothing names: silent loss), or move
 * it away (its bytes live on under the new name, but new frames must go to
 * the path). CaptureFile asks every pathCheckMs and after each sync, off the
 * hot path (two stat calls, not one per frame).
 *
 *   fstat(fd).nlink == 0                 -> 'removed'  (salvage its tail)
 *   stat(path) missing or other dev/ino  -> 'moved'    (just reopen path)
 *   otherwise                            -> 'same'
 *
 * A removed file's bytes are still readable through the old descriptor
 * (it was opened 'a+'), so the frames written since the last good check are
 * copied into the new file instead of being held in memory. Stateless.
 */
import { CaptureError } from '../errors.js';
import type { CaptureFs } from './capture-fs.js';

export type PathState = 'same' | 'moved' | 'removed';

export async function pathState(fs: CaptureFs, fd: number, path: string): Promise<PathState> {
  const [own, named] = await Promise.all([fs.identity(fd), fs.pathIdentity(path)]);
  if (own.nlink === 0) return 'removed';
  return named !== null && named.dev === own.dev && named.ino === own.ino ? 'same' : 'moved';
}

const CHUNK_BYTES = 1 << 20;

/** Copies bytes [start, end) of the file behind `from` through `write`, a chunk at a time. */
export async function copyRange(
  fs: CaptureFs,
  from: number,
  start: number,
  end: number,
  write: (chunk: Buffer) => Promise<void>,
): Promise<void> {
  const buffer = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, end - start));
  for (let at = start; at < end; ) {
    const got = await fs.read(from, buffer.subarray(0, Math.min(buffer.length, end - at)), at);
    if (got === 0) throw new CaptureError(`removed capture file ended at byte ${at}, expected ${end}`);
    await write(buffer.subarray(0, got));
    at += got;
  }
}
