/**
 * The server's logger, from the config's `log` section: pino JSON lines on
 * stdout (the default), or, with `format: "pretty"`, the same records
 * through pino-pretty's formatter for people.
 *
 * pino-pretty is loaded only when asked for. It runs in this thread as a
 * synchronous stream (prettyFactory, then a synchronous stdout
 * destination), not as a worker transport: a line logged just before
 * process.exit() is already written, so the exit path needs no extra
 * flush, exactly as with JSON. The logger owns no other state.
 */
import pino, { type DestinationStream, type Logger } from 'pino';
import type { LogFormat, LogLevel } from '../config/schema.js';

export interface LoggerOptions {
  readonly level: LogLevel;
  readonly format: LogFormat;
}

/** Fields every line has that a person does not need on a terminal. */
const PRETTY_IGNORE = 'pid,hostname';

/**
 * Builds the logger. `destination` (tests) receives the JSON or pretty
 * text; by default it is a synchronous stdout.
 */
export async function createLogger(opts: LoggerOptions, destination?: DestinationStream): Promise<Logger> {
  if (opts.format !== 'pretty') return destination ? pino({ level: opts.level }, destination) : pino({ level: opts.level });
  const out = destination ?? pino.destination({ dest: 1, sync: true });
  const { prettyFactory } = await import('pino-pretty');
  const prettify = prettyFactory({
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: PRETTY_IGNORE,
    singleLine: true,
    // Colours only for a terminal; a file or a pipe gets plain text.
    colorize: destination === undefined && process.stdout.isTTY === true,
  });
  const stream: DestinationStream & { flush(cb?: (err?: Error) => void): void } = {
    write(line: string) {
      out.write(prettify(line));
    },
    flush(cb) {
      // Every write above is synchronous: nothing is buffered here.
      cb?.();
    },
  };
  return pino({ level: opts.level }, stream);
}
