/**
 * The capture file's options, results and errors, shared by its parts
 * (capture-file.ts re-exports them: import from there).
 */
import { CaptureError } from '../errors.js';
import type { CaptureFs } from './capture-fs.js';
import type { PathState } from './capture-salvage.js';

export type FsyncMode = 'always' | 'interval' | 'never';

export interface CaptureFileOptions {
  /** The live file; relative paths resolve against the working directory. */
  readonly path: string;
  readonly fsync: FsyncMode;
  readonly fsyncIntervalMs: number;
  readonly rotateBytes: number;
  /** Rotated files kept (path.1 .. path.keepFiles); 0 keeps none. */
  readonly keepFiles: number;
  /** Backoff of retries after a failed write: first delay and cap (ms). */
  readonly retryMinMs?: number;
  readonly retryMaxMs?: number;
  /** How often the path is compared with the open file (default 500 ms). */
  readonly pathCheckMs?: number;
  /** close() gives up writing after this long (default 5000 ms). */
  readonly closeTimeoutMs?: number;
  readonly fs?: CaptureFs;
}

/** The live file or its directory was removed or replaced under the writer (recovered at once). */
export class CapturePathLostError extends CaptureError {
  constructor(path: string, state: PathState) {
    super(`capture file ${path} was ${state === 'removed' ? 'removed' : 'moved or replaced'} while open; recreating it`);
  }
}

/** What close() could not write (disk full until the deadline). */
export interface CloseResult {
  readonly unwrittenFrames: number;
  readonly unwrittenBytes: number;
}

export interface CaptureStatus {
  readonly path: string;
  readonly bytesWritten: number;
  /** ms since the epoch, or null before the first sync. */
  readonly lastSyncAt: number | null;
  readonly rotations: number;
  readonly errors: number;
  readonly pendingBytes: number;
}
