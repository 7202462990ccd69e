/**
 * The `log` handler: one pino line per packet, for debugging. Slow by
 * design (it decodes both ids and serializes a line per packet, tens of
 * times the cost of ingesting it): never use it under load.
 *
 * Lines are filtered by the logger's level like any other: at the default
 * `info`, `"level": "debug"` lines only show with `log.level` debug. The
 * check is made once at start-up; a disabled handler is a no-op.
 */
import type { LogHandlerConfig } from '../config/schema.js';
import type { HandlerContext, PacketHandler } from './types.js';

export type LogOptions = Pick<LogHandlerConfig, 'level'>;

const noop = (): void => {};

export function createLogHandler(config: LogOptions, context: HandlerContext): PacketHandler {
  const log = context.log;
  const level = config.level;
  if (level === 'silent' || !log.isLevelEnabled(level)) return { onPacket: noop };
  const write = log[level].bind(log);
  return {
    onPacket(packet, connection) {
      write(
        {
          connection: connection.id,
          offset: packet.offset,
          sourceId: packet.sourceId,
          destId: packet.destId,
          flags: packet.flags,
          timestamp: packet.timestamp,
          payloadLength: packet.payloadLength,
        },
        'packet',
      );
    },
  };
}
