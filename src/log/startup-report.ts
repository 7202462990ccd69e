/**
 * What the server says once at start-up, before its `listening` line: one
 * line per handler naming where its data goes, and one warning per
 * listener bound to every interface, saying how to bind privately.
 * Pure: it reads the validated config and writes log lines; it owns no
 * state and has nothing to clean up.
 *
 *   handler capture (capture): writes /srv/pkt/data/capture.pkt (fsync interval, every 1000 ms; ...)
 *   handler relay (forward): sends to 10.0.0.7:7400
 *   handler enrich (module): /srv/pkt/examples/enrich-handler.mjs
 *   warn: tcp listener on 0.0.0.0:7400 accepts connections from every network interface; to bind ...
 */
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import type { Config, HandlerConfig } from '../config/schema.js';

export interface StartupFacts {
  readonly config: Config;
  /** Names of handler instances given by an embedder instead of config.handlers; null when built from the config. */
  readonly embeddedHandlers: readonly string[] | null;
  readonly tcpPort: number;
  readonly httpPort: number;
}

/** IPv4 and IPv6 spellings of "every interface". */
const ALL_INTERFACES = new Set(['0.0.0.0', '::', '::0', '0:0:0:0:0:0:0:0', '[::]']);

export function isAllInterfaces(host: string): boolean {
  return ALL_INTERFACES.has(host);
}

/** One line per handler: its name, type and where it writes. */
export function describeHandler(h: HandlerConfig): { fields: Record<string, unknown>; msg: string } {
  switch (h.type) {
    case 'capture': {
      const path = resolve(h.path);
      const sync = h.fsync === 'interval' ? `fsync interval, every ${h.fsyncIntervalMs} ms` : `fsync ${h.fsync}`;
      return {
        fields: { handler: h.name, type: h.type, path, fsync: h.fsync, fsyncIntervalMs: h.fsyncIntervalMs, rotateBytes: h.rotateBytes, keepFiles: h.keepFiles },
        msg: `handler ${h.name} (capture): writes ${path} (${sync}; rotates at ${h.rotateBytes} bytes, keeps ${h.keepFiles} rotated files)`,
      };
    }
    case 'forward': {
      const target = `${h.host}:${h.port}`;
      return { fields: { handler: h.name, type: h.type, target }, msg: `handler ${h.name} (forward): sends to ${target}` };
    }
    case 'module': {
      const path = resolve(h.path);
      return { fields: { handler: h.name, type: h.type, path }, msg: `handler ${h.name} (module): ${path}` };
    }
    case 'jetstream': {
      const servers = h.servers.join(',');
      return {
        fields: { handler: h.name, type: h.type, servers, stream: h.stream, subject: h.subject, per: h.per },
        msg: `handler ${h.name} (jetstream): publishes to stream ${h.stream}, subject ${h.subject} on ${servers} (${h.per === 'run' ? 'many frames' : 'one frame'} per message)`,
      };
    }
    case 'log':
      return { fields: { handler: h.name, type: h.type, level: h.level }, msg: `handler ${h.name} (log): one log line per packet, at ${h.level}` };
  }
}

export function reportStartup(log: Logger, facts: StartupFacts): void {
  const { config } = facts;
  if (facts.embeddedHandlers !== null) {
    log.info({ handlers: facts.embeddedHandlers }, `handlers given by the embedding program: ${facts.embeddedHandlers.join(', ') || 'none'}`);
  } else if (config.handlers.length === 0) {
    log.info({ handlers: [] }, 'no handlers: packets are validated and counted, then dropped');
  } else {
    for (const h of config.handlers) {
      const { fields, msg } = describeHandler(h);
      log.info(fields, msg);
    }
  }
  const listeners = [
    { listener: 'tcp', host: config.tcp.host, port: facts.tcpPort, fix: '--host 127.0.0.1 (or PKT_INGEST_HOST, tcp.host)' },
    { listener: 'http', host: config.http.host, port: facts.httpPort, fix: 'http.host "127.0.0.1" in the config file' },
  ];
  for (const { listener, host, port, fix } of listeners) {
    if (!isAllInterfaces(host)) continue;
    const at = host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
    log.warn(
      { listener, host, port },
      `${listener} listener on ${at} accepts connections from every network interface; to bind privately set ${fix}`,
    );
  }
}
