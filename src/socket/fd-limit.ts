/**
 * File descriptors: producers must never take the last ones. Read once at
 * start-up, the process's limit (RLIMIT_NOFILE, soft; Linux:
 * /proc/self/limits, elsewhere unknown and not enforced) and the
 * descriptors already open (/proc/self/fd: log, capture files, forward
 * sockets, the listeners) give the producer connections' share:
 *
 *   0 .............. open at start .......... cap .......... limit
 *   | log, files, listeners | producer conns  | FD_RESERVE: HTTP scrapes and
 *                                               probes, capture rotation and
 *                                               recreation, forward reconnects
 *
 * TcpIngest refuses a connection over the cap at once (closed, counted
 * `fd_limit`), so /healthz, /metrics and the capture keep working through a
 * flood. Once producers hold half the cap, its sweep counts /proc/self/fd
 * again each tick (recount()): descriptors others took since start-up
 * (scrapes, files a module opened, sockets still handshaking) come off the
 * producers' share, never off the reserve. An accept that fails anyway (EMFILE, ENFILE: something else took
 * descriptors) counts `fd_limit` too, other accept errors their own counter;
 * both logged rate-limited.
 */
import fs from 'node:fs';
import os from 'node:os';

/** Descriptors kept free of producer connections (64: many concurrent scrapes, a rotation, a reconnect). */
export const FD_RESERVE = 64;

/** The soft "Max open files" of /proc/self/limits text; Infinity for unlimited; null if absent. */
export function parseFdLimit(limitsText: string): number | null {
  const m = /^Max open files\s+(\S+)/m.exec(limitsText);
  if (m === null) return null;
  if (m[1] === 'unlimited') return Infinity;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) && n > 0 ? n : null;
}

export interface FdPlan {
  /** The soft limit (RLIMIT_NOFILE). */
  readonly limit: number;
  /** Open when the plan was made. */
  readonly openAtStart: number;
  /** Producer connections admitted at most, for descriptors' sake (Infinity: no limit known). */
  readonly tcpCap: number;
  /** One line for the log when maxConnections does not fit under the cap, else null. */
  readonly warning: string | null;
}

/** The cap for `limit` and `openAtStart`, and the warning when `maxConnections` exceeds it. */
export function planFds(limit: number, openAtStart: number, maxConnections: number): FdPlan {
  const tcpCap = Number.isFinite(limit) ? Math.max(0, limit - FD_RESERVE - openAtStart) : Infinity;
  const warning =
    maxConnections > tcpCap
      ? `tcp.maxConnections ${maxConnections} does not fit under the descriptor limit ${limit} (ulimit -n) ` +
        `less ${openAtStart} open at start-up and a reserve of ${FD_RESERVE}: at most ${tcpCap} producer connections ` +
        `are admitted, the rest refused as fd_limit; fix: raise the limit to at least ${maxConnections + openAtStart + FD_RESERVE} ` +
        '(ulimit -n, Docker --ulimit nofile=N, systemd LimitNOFILE=N) or lower tcp.maxConnections'
      : null;
  return { limit, openAtStart, tcpCap, warning };
}

/** Descriptors open in this process now, or null without /proc. */
export function openFdCount(): number | null {
  try {
    return fs.readdirSync('/proc/self/fd').length - 1; // readdir's own descriptor is listed too
  } catch {
    return null;
  }
}

/** This process's plan, read from /proc; null where /proc is not there (not Linux): no cap. */
export function readFdPlan(maxConnections: number): FdPlan | null {
  let limit: number | null;
  try {
    limit = parseFdLimit(fs.readFileSync('/proc/self/limits', 'utf8'));
  } catch {
    return null;
  }
  const open = openFdCount();
  return limit === null || open === null ? null : planFds(limit, open, maxConnections);
}

/** The cap again from a fresh count: `producers` of the `open` descriptors are producer connections. */
export function recount(limit: number, producers: number, open: number | null = openFdCount()): number | null {
  return open === null ? null : planFds(limit, Math.max(0, open - producers), 0).tcpCap;
}

/** libuv accept errors (negative errno, or Node's code string) that mean "no descriptor left". */
export function isOutOfDescriptors(code: number | string | undefined): boolean {
  const { EMFILE, ENFILE } = os.constants.errno;
  return code === 'EMFILE' || code === 'ENFILE' || code === -EMFILE || code === -ENFILE;
}

/**
 * The producers' share of descriptors for one listener: read at start-up
 * (start), counted again by the sweep once producers hold half of it
 * (refresh). `cap` is Infinity where the limit is unknown.
 */
export class FdCap {
  cap = Infinity;
  private limit: number | null = null;

  /** Reads the plan; returns its warning line (maxConnections does not fit), if any. */
  start(maxConnections: number): { warning: string; fields: Record<string, number> } | null {
    const fds = readFdPlan(maxConnections);
    if (fds === null || !Number.isFinite(fds.limit)) return null;
    [this.cap, this.limit] = [fds.tcpCap, fds.limit];
    return fds.warning ? { warning: fds.warning, fields: { limit: fds.limit, openAtStart: fds.openAtStart, tcpCap: fds.tcpCap } } : null;
  }

  /** Near the cap, count again: what others opened since start-up comes off the producers' share. */
  refresh(producers: number): void {
    if (this.limit !== null && producers >= this.cap >>> 1) this.cap = recount(this.limit, producers) ?? this.cap;
  }
}
