/**
 * What every connection of a server shares: set up once, so a connection
 * carries one pointer instead of a dozen.
 */
import type { Logger } from 'pino';
import type { PacketHandler } from '../handlers/types.js';
import type { DecoderLimits } from '../frame/frame-decoder.js';
import type { ErrorPolicy } from '../frame/frame-reader.js';
import type { RateLimitedLog } from '../log/rate-limited-log.js';
import type { IngestStats } from '../metrics/ingest-stats.js';
import type { RingPool } from '../ring/pool.js';
import type { CoarseClock } from './coarse-clock.js';
import type { Connection } from './connection.js';

export interface ConnectionContext {
  readonly pool: RingPool;
  readonly limits: DecoderLimits;
  readonly policy: ErrorPolicy;
  readonly stats: IngestStats;
  readonly log: Logger;
  readonly rateLog: RateLimitedLog;
  readonly clock: CoarseClock;
  readonly handlers: readonly PacketHandler[];
  readonly handlerNames: readonly string[];
  /** Indices of handlers that implement onBatchEnd. */
  readonly batchEnders: readonly number[];
  observeLag(seconds: number): void;
  connectionClosed(conn: Connection): void;
}
