/**
 * SIGHUP: what a re-read configuration may change while running, and
 * applying it. Reloadable (OPERATIONS.md, "Reload without a restart"): the TLS files (`tcp.tls`,
 * `http.tls`, re-read from the paths the server started with), `tcp.allow`
 * and `log.level`. Any other difference is reported as needing a restart and
 * left alone; a file or value that fails keeps the old setting.
 *
 *   SIGHUP -> loadConfig() --ConfigError--> log, nothing changes
 *                 |
 *            planReload(running, next) -> { logLevel, allow, restartKeys }
 *                 |
 *            applyReload: log.level, new Allowlist swapped in, TLS holders reload()
 *                 -> one report (what applied, what failed, what needs a restart)
 *
 * State: the caller owns the running Config and swaps in `result.running`,
 * the old config with only the applied keys changed, so the next SIGHUP
 * compares against what actually runs.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import { Allowlist } from '../socket/allowlist.js';
import type { ReloadableTlsContext } from '../socket/tls-context.js';
import type { Config, LogLevel } from './schema.js';

export interface ReloadPlan {
  /** The new level, or null if unchanged. */
  readonly logLevel: LogLevel | null;
  /** The new tcp.allow, or null if unchanged. */
  readonly allow: readonly string[] | null;
  /** Keys that differ but only apply at a restart, e.g. `tcp.port`, `tcp.tls.clientAuth`, `handlers`. */
  readonly restartKeys: readonly string[];
}

const RELOADABLE = new Set(['tcp.allow', 'log.level']);

export function planReload(running: Config, next: Config): ReloadPlan {
  const restartKeys: string[] = [];
  for (const section of Object.keys(next) as Array<keyof Config>) {
    const a = running[section] as unknown;
    const b = next[section] as unknown;
    if (isDeepStrictEqual(a, b)) continue;
    if (isPlainObject(a) && isPlainObject(b)) {
      for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
        const path = `${section}.${key}`;
        if (RELOADABLE.has(path) || isDeepStrictEqual(a[key], b[key])) continue;
        // A tls object: name the setting that changed (the files themselves are re-read regardless).
        const inner = a[key];
        const outer = b[key];
        if (isPlainObject(inner) && isPlainObject(outer)) {
          for (const k of new Set([...Object.keys(inner), ...Object.keys(outer)])) {
            if (!isDeepStrictEqual(inner[k], outer[k])) restartKeys.push(`${path}.${k}`);
          }
        } else restartKeys.push(path);
      }
    } else restartKeys.push(section);
  }
  return {
    logLevel: running.log.level === next.log.level ? null : next.log.level,
    allow: isDeepStrictEqual(running.tcp.allow, next.tcp.allow) ? null : next.tcp.allow,
    // Sorted: the log line reads the same whatever order the file has its keys in.
    restartKeys: restartKeys.sort(),
  };
}

export interface ReloadTargets {
  /** The root logger; its level changes for every child created from then on and existing children alike. */
  log: Logger;
  tcpTls: ReloadableTlsContext | null;
  httpTls: ReloadableTlsContext | null;
  /** Swaps the allowlist new connections are checked against. */
  setAllowlist(list: Allowlist): void;
}

export interface ReloadResult {
  /** The running configuration after the reload: the old one with the applied keys replaced. */
  running: Config;
  applied: string[];
  failed: string[];
  restartKeys: readonly string[];
}

/** Applies what `planReload` found, and re-reads the TLS files; never throws. */
export function applyReload(running: Config, next: Config, targets: ReloadTargets): ReloadResult {
  const plan = planReload(running, next);
  const applied: string[] = [];
  const failed: string[] = [];
  let tcp = running.tcp;
  let log = running.log;
  if (plan.logLevel !== null) {
    targets.log.level = plan.logLevel;
    log = { ...log, level: plan.logLevel };
    applied.push(`log.level=${plan.logLevel}`);
  }
  if (plan.allow !== null) {
    // Validated by loadConfig; the constructor cannot fail on what loadConfig accepted.
    targets.setAllowlist(new Allowlist(plan.allow));
    tcp = { ...tcp, allow: plan.allow };
    applied.push(`tcp.allow=[${plan.allow.join(', ')}]`);
  }
  for (const holder of [targets.tcpTls, targets.httpTls]) {
    if (holder === null) continue;
    const r = holder.reload();
    if (!r.ok) failed.push(r.error);
    else applied.push(`${holder.key} ${r.changed ? 'new' : 'unchanged'} certificate ${r.subject} ${r.fingerprint256.slice(0, 23)}... valid to ${r.validTo}`);
  }
  return { running: Object.freeze({ ...running, tcp: Object.freeze(tcp), log: Object.freeze(log) }), applied, failed, restartKeys: plan.restartKeys };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
