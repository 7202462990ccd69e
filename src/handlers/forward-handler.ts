/**
 * The `forward` handler: relays every delivered frame, byte-exact and in
 * order, to another host:port (another pkt-ingest, say). Zero-copy like
 * capture: each read's frames go out as views of the ring, and the batch's
 * promise holds those bytes until the socket took them, so a slow or
 * absent target pauses producers instead of dropping. Delivery is
 * at-least-once up to the kernel; see ForwardConnection for the details.
 *
 * With `"acks": true` the handler commits late ('deferred'): the relayed
 * frames carry ACK_REQUEST, and a frame commits (context.commit) when the
 * target's ACK covers it, so two pkt-ingest servers chain their
 * acknowledgements end to end. One closure per batch (per read), none per
 * packet.
 */
import type { ForwardHandlerConfig } from '../config/schema.js';
import { ForwardConnection } from '../sinks/forward-connection.js';
import { FrameRuns } from './frame-runs.js';
import type { HandlerContext, PacketHandler } from './types.js';

export type ForwardOptions = Pick<
  ForwardHandlerConfig,
  'host' | 'port' | 'queueBytes' | 'reconnectMinMs' | 'reconnectMaxMs'
> & { readonly acks?: boolean; readonly connectTimeoutMs?: number; readonly closeTimeoutMs?: number };

/** A PacketHandler that also shows its connection (stats, state) to the server and tests. */
export interface ForwardHandler extends PacketHandler {
  readonly connection: ForwardConnection;
}

/** Starts connecting at once; isHealthy() is false until connected. */
export function createForwardHandler(config: ForwardOptions, context: HandlerContext): ForwardHandler {
  const connection = new ForwardConnection(config);
  const log = context.log.child({ target: connection.target });
  connection.onUp = () => log.info({ connects: connection.connects }, 'forward connected');
  connection.onDown = (err, attempt, delayMs) => {
    // One warning (and one counted error) per outage; the retries that follow are debug noise.
    if (attempt === 1) context.reportError(err);
    if (attempt === 1) log.warn({ err, queuedBytes: connection.queuedBytes }, 'forward target down; reconnecting, producers wait');
    else log.debug({ err, attempt, delayMs }, 'forward reconnect failed');
  };
  connection.start();

  const runs = new FrameRuns();
  const acks = config.acks === true;
  return {
    connection,
    commitMode: acks ? 'deferred' : 'settle',
    onPacket: (packet, conn) => runs.add(packet, conn),
    onBatchEnd(conn) {
      const segments = runs.take(conn);
      if (segments === null) return undefined;
      if (!acks) return connection.send(segments);
      // The batch holds this read's packets, the last being number `upTo` of the connection.
      const upTo = conn.packets;
      let acked = 0;
      return connection.send(segments, (frames, total) => {
        acked += frames;
        context.commit(conn, upTo - (total - acked));
      });
    },
    closeConnection: (conn) => runs.delete(conn),
    isHealthy: () => connection.connected,
    status: () => ({ target: connection.target, connected: connection.connected, queuedBytes: connection.queuedBytes, queuedBatches: connection.queuedBatches }),
    // The server logs the frames that never reached the target and exits 3 if there are any.
    close: async (timeoutMs?: number) => ({ unwritten: (await connection.close(timeoutMs)).unforwardedFrames }),
  };
}
