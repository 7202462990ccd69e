/**
 * The last step of a shutdown: every handler flushes and closes, together,
 * against one deadline (what is left of shutdown.drainTimeoutMs, see
 * IngestServer.drainAndStop), and says what it could not write.
 *
 *   close(tell) --> { unwritten: n }   n > 0: one error line with n (frames lost)
 *               --> void / { 0 }       everything written
 *               --> throws, or not settled by the deadline: one error line;
 *                   what it held is unknown, so unconfirmed
 *
 * A handler is told three quarters of the time left (`tell`) so that it
 * can give up, cut its file back to whole frames and count what is left
 * before the server stops waiting at the deadline. The report decides the
 * exit status: 3 when anything delivered may be unwritten (cli.ts).
 */
import type { Logger } from 'pino';
import type { HandlerCloseResult, PacketHandler } from './types.js';

export interface ShutdownReport {
  /** Frames the handlers said they could not write, summed. */
  readonly unwritten: number;
  /** Handlers that failed to close or did not within the deadline: their frames are unaccounted for. */
  readonly unconfirmed: readonly string[];
  /** Bytes of delivered frames a handler still held (a promise never settled) after every close. */
  readonly heldBytes: number;
}

/** True when every delivered frame was handed on: exit 0, else 3. */
export function shutdownWasClean(report: ShutdownReport): boolean {
  return report.unwritten === 0 && report.unconfirmed.length === 0 && report.heldBytes === 0;
}

export async function closeHandlers(
  handlers: ReadonlyArray<{ name: string; handler: PacketHandler }>,
  deadline: number,
  log: Logger,
): Promise<ShutdownReport> {
  const results = await Promise.all(handlers.map(({ name, handler }) => closeOne(name, handler, deadline, log)));
  let unwritten = 0;
  const unconfirmed: string[] = [];
  results.forEach((n, i) => {
    if (n === null) unconfirmed.push(handlers[i].name);
    else unwritten += n;
  });
  return { unwritten, unconfirmed, heldBytes: 0 };
}

/** Frames `handler` could not write, or null if it did not say (failed, or past the deadline). */
async function closeOne(name: string, handler: PacketHandler, deadline: number, log: Logger): Promise<number | null> {
  if (!handler.close) return 0;
  const waitMs = Math.max(0, deadline - Date.now());
  const tellMs = Math.floor(waitMs * 0.75);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), waitMs)));
  try {
    const result = await Promise.race([Promise.resolve(handler.close(tellMs)), late]);
    if (result === 'late') {
      log.error({ handler: name, timeoutMs: waitMs }, 'handler did not close within the shutdown budget: frames it was handed may be unwritten (how many is unknown)');
      return null;
    }
    const unwritten = (result as HandlerCloseResult | undefined)?.unwritten ?? 0;
    if (unwritten > 0) {
      log.error({ handler: name, unwritten, timeoutMs: tellMs }, `handler could not write ${unwritten} delivered frames before the shutdown deadline: they are lost`);
    }
    return unwritten;
  } catch (err) {
    log.error({ handler: name, err }, 'handler failed to close: frames it was handed may be unwritten (how many is unknown)');
    return null;
  } finally {
    clearTimeout(timer);
  }
}
