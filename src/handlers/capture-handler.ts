/**
 * The `capture` handler: every delivered frame, byte-exact, into a rotating
 * capture file. Zero-copy: each read's frames become one or a few views of
 * the ring, appended at batch end; the returned promise keeps those ring
 * bytes held until they are written, so a slow or failing disk pauses
 * producers instead of losing frames or growing memory.
 */
import type { CaptureHandlerConfig } from '../config/schema.js';
import { StartupError } from '../errors.js';
import { CaptureFile } from '../sinks/capture-file.js';
import type { CaptureFs } from '../sinks/capture-fs.js';
import { FrameRuns } from './frame-runs.js';
import type { HandlerContext, PacketHandler } from './types.js';

export type CaptureOptions = Pick<CaptureHandlerConfig, 'path' | 'fsync' | 'fsyncIntervalMs' | 'rotateBytes' | 'keepFiles'>;

export interface CaptureDeps {
  /** File operations (tests inject failures). */
  readonly fs?: CaptureFs;
  readonly retryMinMs?: number;
  readonly retryMaxMs?: number;
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
    log.error({ err, path: file.path }, 'capture write failed; retrying, producers wait until it succeeds');
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
  return {
    file,
    onPacket: (packet, connection) => runs.add(packet, connection),
    onBatchEnd(connection) {
      const segments = runs.take(connection);
      return segments === null ? undefined : file.append(segments);
    },
    closeConnection: (connection) => runs.delete(connection),
    isHealthy: () => file.healthy,
    close: () => file.close(),
  };
}
