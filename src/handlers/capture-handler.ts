/**
 * The `capture` handler: every delivered frame, byte-exact, into a rotating
 * capture file. Zero-copy: each read's frames become one or a few views of
 * the ring, appended at batch end; the returned promise keeps those ring
 * bytes held until they are written, so a slow or failing disk pauses
 * producers instead of losing frames or growing memory.
 *
 * Commit (acknowledgements): 'deferred'. For a connection in ack mode each
 * batch's append carries an onDurable callback that commits the
 * connection's count at that batch; it fires after the sync that covers
 * the write (`always`: the write's own sync; `interval`: the next interval
 * sync, one sync committing every append before it; `never`: when the
 * write returned). The ring bytes are released when the write returns (with
 * `always`, at once: see ALWAYS_COPY_BYTES), the commit waits for the sync.
 * Plain connections pass no callback.
 *
 * Logs: failures and a lost path (error, also counted as handler errors),
 * recovery, rotations and deleted old files (info). close() resolves to the
 * frames it could not write before its deadline (the server logs them).
 */
import type { CaptureHandlerConfig } from '../config/schema.js';
import { StartupError } from '../errors.js';
import { CaptureFile, CapturePathLostError } from '../sinks/capture-file.js';
import type { CaptureFs } from '../sinks/capture-fs.js';
import { commitTrackerOf } from './commit-tracker.js';
import { FrameRuns } from './frame-runs.js';
import type { HandlerContext, PacketHandler } from './types.js';

/**
 * fsync `always`: while the file's queued bytes, this batch included, stay
 * within this bound, a batch is copied and its ring bytes released at once. Holding the ring
 * until the sync would cap what one sync can group at a ring's worth per
 * connection (the producer pauses meanwhile); the copy lets the next sync
 * take everything that arrived during this one. Past the bound the ring is
 * held as in the other modes, so memory stays bounded and producers pause.
 */
export const ALWAYS_COPY_BYTES = 2 * 1024 * 1024;

export type CaptureOptions = Pick<CaptureHandlerConfig, 'path' | 'fsync' | 'fsyncIntervalMs' | 'rotateBytes' | 'keepFiles'>;

export interface CaptureDeps {
  /** File operations (tests inject failures). */
  readonly fs?: CaptureFs;
  readonly retryMinMs?: number;
  readonly retryMaxMs?: number;
  /** How often the path is compared with the open file (ms; default 500). */
  readonly pathCheckMs?: number;
  /** close() without a timeout gives up after this long (ms; default 5000). */
  readonly closeTimeoutMs?: number;
}

/** A PacketHandler that also shows its file (stats, health) to the server and tests. */
export interface CaptureHandler extends PacketHandler {
  readonly file: CaptureFile;
}

/** Opens the file before returning, so an unwritable path fails start-up (StartupError). */
export async function createCaptureHandler(
  config: CaptureOptions,
  context: HandlerContext,
  deps: CaptureDeps = {},
): Promise<CaptureHandler> {
  const file = new CaptureFile({ ...config, ...deps });
  const log = context.log;
  file.onError = (err) => {
    context.reportError(err);
    if (err instanceof CapturePathLostError) {
      log.error({ err, path: file.path }, 'capture file or directory removed or replaced: recreating it and rewriting its frames since the last check');
    } else log.error({ err, path: file.path }, 'capture write failed; retrying, producers wait until it succeeds');
  };
  file.onRotate = (rotatedTo, bytes, pruned) => {
    log.info({ path: file.path, rotatedTo, bytes }, 'capture file rotated');
    for (const old of pruned) log.info({ path: old }, 'capture file deleted (keepFiles)');
  };
  file.onRecover = () => log.info({ path: file.path }, 'capture writes recovered');
  file.onRepair = (offset) =>
    log.warn({ path: file.path, offset }, 'capture file ended in a torn frame (a crash?): cut it off before appending');
  try {
    await file.open();
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new StartupError(`handler "${context.name}" (capture): cannot open ${config.path}: ${reason}`, { cause: error });
  }

  const runs = new FrameRuns();
  const copyForSync = config.fsync === 'always';
  return {
    file,
    commitMode: 'deferred',
    onPacket: (packet, connection) => runs.add(packet, connection),
    onBatchEnd(connection) {
      const segments = runs.take(connection);
      if (segments === null) return undefined;
      const count = connection.packets;
      const onDurable = commitTrackerOf(connection) === undefined ? undefined : () => context.commit(connection, count);
      if (!copyForSync || file.pendingBytes + byteLength(segments) > ALWAYS_COPY_BYTES) return file.append(segments, onDurable);
      // The copy is the capture's own: its append is not awaited (close() counts it if never written).
      file.append([Buffer.concat(segments)], onDurable).catch((error: unknown) => context.reportError(error));
      return undefined;
    },
    closeConnection: (connection) => runs.delete(connection),
    isHealthy: () => file.healthy,
    status: () => ({ ...file.status() }),
    async close(timeoutMs?: number) {
      const { unwrittenFrames } = await file.close(timeoutMs);
      return { unwritten: unwrittenFrames };
    },
  };
}

function byteLength(segments: readonly Uint8Array[]): number {
  let n = 0;
  for (const s of segments) n += s.byteLength;
  return n;
}
