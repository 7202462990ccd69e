/**
 * Builds the configured handlers, in order. If one fails, those already
 * built are closed (files, sockets) before the error goes up.
 */
import type { Logger } from 'pino';
import type { HandlerConfig } from '../config/schema.js';
import { ConfigError } from '../errors.js';
import { createCaptureHandler } from './capture-handler.js';
import { commitTrackerOf } from './commit-tracker.js';
import { createForwardHandler } from './forward-handler.js';
import { createJetStreamHandler } from './jetstream-handler.js';
import { createLogHandler } from './log-handler.js';
import { loadModuleHandler } from './module-handler.js';
import type { HandlerContext, PacketHandler } from './types.js';

export interface NamedHandler {
  readonly name: string;
  readonly handler: PacketHandler;
}

function createHandler(config: HandlerConfig, context: HandlerContext, index: number): PacketHandler | Promise<PacketHandler> {
  switch (config.type) {
    case 'capture':
      return createCaptureHandler(config, context);
    case 'log':
      return createLogHandler(config, context);
    case 'forward':
      return createForwardHandler(config, context);
    case 'module':
      return loadModuleHandler(config, context);
    case 'jetstream':
      return createJetStreamHandler(config, context, { where: `handlers[${index}]` });
    default: {
      const unknown: never = config;
      throw new ConfigError(`handlers[].type: unknown handler type "${(unknown as { type: string }).type}" (use capture, forward, log or module)`);
    }
  }
}

/** Where handlers' self-reported errors go (the server counts them per handler). */
export type ErrorSink = (handlerName: string, error: unknown) => void;

export async function createHandlers(
  configs: readonly HandlerConfig[],
  baseLog: Logger,
  onError: ErrorSink = () => {},
): Promise<NamedHandler[]> {
  const built: NamedHandler[] = [];
  try {
    for (const [index, config] of configs.entries()) {
      const name = config.name;
      // The handler's position is its index in each connection's commit tracker
      // (the dispatch builds trackers over the handlers in this order).
      const context: HandlerContext = {
        name,
        log: baseLog.child({ handler: name }),
        reportError: (error) => onError(name, error),
        commit: (connection, count) => commitTrackerOf(connection)?.commit(index, count),
        failCommit: (connection, error) => {
          onError(name, error);
          commitTrackerOf(connection)?.fail(index, error);
        },
      };
      built.push({ name: config.name, handler: await createHandler(config, context, index) });
    }
  } catch (error) {
    await Promise.allSettled(built.map(({ handler }) => handler.close?.()));
    throw error;
  }
  return built;
}
