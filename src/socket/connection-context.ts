/**
 * What every connection of a server shares: set up once, so a connection
 * carries one pointer instead of a dozen. TcpIngest implements it.
 */
import type { Logger } from 'pino';
import type { AckScheduler } from '../ack/ack-scheduler.js';
import type { DecoderLimits } from '../frame/frame-decoder.js';
import type { ErrorPolicy } from '../frame/consumer.js';
import type { DispatchContext } from '../handlers/dispatch.js';
import type { CommitMode, ConnectionInfo } from '../handlers/types.js';
import type { RateLimitedLog } from '../log/rate-limited-log.js';
import type { RingPool } from '../ring/pool.js';
import type { CoarseClock } from './coarse-clock.js';
import type { ReadBudget } from './read-budget.js';
import type { TlsIdentity } from './tls-identity.js';

/** Who is at the other end: the PROXY protocol's source where it is on, else the socket's; TLS identity or null. */
export interface ConnectionPeer {
  readonly address: string;
  readonly port: number;
  readonly tls: TlsIdentity | null;
}

export interface ConnectionContext extends DispatchContext {
  readonly pool: RingPool;
  readonly limits: DecoderLimits;
  readonly policy: ErrorPolicy;
  readonly log: Logger;
  readonly rateLog: RateLimitedLog;
  readonly clock: CoarseClock;
  /** This server's read budget per event-loop turn. */
  readonly readBudget: ReadBudget;
  /** Acknowledgements: the server's one scheduler, each handler's commit mode, pkt_ingest_commit_seconds. */
  readonly ackScheduler: AckScheduler;
  readonly commitModes: readonly CommitMode[];
  observeCommit(seconds: number): void;
  /** The connection finished (its reader ended, handlers closed); the server forgets it. */
  connectionClosed(conn: ConnectionInfo): void;
}
