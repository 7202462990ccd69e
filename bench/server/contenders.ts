/**
 * The servers the suite compares, and how to start each as its own process.
 * pkt-ingest runs through its real CLI (`src/cli.ts serve --config FILE`,
 * defaults for everything not set here: 256 KiB rings, 1 MiB max payload);
 * the baselines and sinks are the small servers in bench/servers/.
 */
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClientTlsOptions } from '../../src/producer/connect.js';
import type { ServerStart } from './children.js';
import { ROOT } from './children.js';

export type ContenderKey =
  | 'pkt-ingest' | 'capture' | 'copying' | 'bl' | 'raw-data' | 'raw-onread' | 'slow'
  // the tls suite (bench/tls/index.ts)
  | 'pkt-ingest-tls' | 'copying-tls' | 'raw-data-tls' | 'pkt-ingest-before';

export interface Contender {
  readonly key: ContenderKey;
  readonly name: string;
  /** Sinks count bytes only; the others must deliver every packet. */
  readonly parses: boolean;
  /** In the comparison table (the slow handler is a memory test, reported apart). */
  readonly compared: boolean;
  /** Builds the start command; `dir` is this run's private temp directory. */
  readonly start: (connections: number, dir: string) => ServerStart;
  /** After the server stopped: a problem with what it left in `dir` (it was sent `bytes`), or null. */
  readonly verify?: (dir: string, bytes: number) => string | null;
  /** The producer connects over TLS with these options (the tls suite). */
  readonly clientTls?: ClientTlsOptions;
}

const CAPTURE_FILE = 'capture.pkt';
export const COUNT_HANDLER = join(ROOT, 'bench/servers/noop-handler.mjs');
const SLOW_HANDLER = join(ROOT, 'bench/servers/slow-handler.mjs');

/** Every 100th packet the slow handler holds its bytes for 1 ms. */
export const SLOW = { every: 100, delayMs: 1 } as const;

export function countHandler(connections: number): object {
  return { type: 'module', name: 'count', path: COUNT_HANDLER, options: { connections } };
}

/** Writes a config into `dir` and returns the CLI start command (`tcp`: extra settings, `script`: another build's cli.ts). */
export function pktIngest(name: string, dir: string, handlers: object[], tcp: object = {}, script = 'src/cli.ts'): ServerStart {
  const config = {
    tcp: { host: '127.0.0.1', port: 0, ...tcp },
    http: { host: '127.0.0.1', port: 0 },
    log: { level: 'warn' },
    handlers,
  };
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(config, null, 2));
  return { name, script, args: ['serve', '--config', file], announce: 'log' };
}

function baseline(name: string, script: string, connections: number): ServerStart {
  return { name, script, args: ['--connections', String(connections)], announce: 'ipc' };
}

export const CONTENDERS: readonly Contender[] = [
  {
    key: 'pkt-ingest',
    name: 'pkt-ingest, no-op handler',
    parses: true,
    compared: true,
    start: (n, dir) => pktIngest('pkt-ingest', dir, [countHandler(n)]),
  },
  {
    key: 'capture',
    name: 'pkt-ingest, capture (fsync interval)',
    parses: true,
    compared: true,
    start: (n, dir) =>
      pktIngest('pkt-ingest capture', dir, [
        // Default rotation (256 MiB, a sync before each); enough files kept that verify() sees every byte.
        { type: 'capture', path: join(dir, CAPTURE_FILE), fsync: 'interval', fsyncIntervalMs: 1000, keepFiles: 64 },
        countHandler(n),
      ]),
    verify: (dir, bytes) => {
      const files = readdirSync(dir).filter((f) => f.startsWith(CAPTURE_FILE));
      let written = 0;
      for (const f of files) written += statSync(join(dir, f)).size;
      return written === bytes ? null : `the capture files hold ${written} B in ${files.length} file(s)`;
    },
  },
  {
    key: 'copying',
    name: 'copying baseline (concat)',
    parses: true,
    compared: true,
    start: (n) => baseline('copying baseline', 'bench/servers/copying-server.ts', n),
  },
  { key: 'bl', name: 'bl baseline', parses: true, compared: true, start: (n) => baseline('bl baseline', 'bench/servers/bl-server.ts', n) },
  {
    key: 'raw-data',
    name: "raw sink, 'data' events",
    parses: false,
    compared: true,
    start: (n) => baseline('raw data sink', 'bench/servers/raw-data-sink.ts', n),
  },
  {
    key: 'raw-onread',
    name: 'raw sink, onread',
    parses: false,
    compared: true,
    start: (n) => baseline('raw onread sink', 'bench/servers/raw-onread-sink.ts', n),
  },
  {
    key: 'slow',
    name: `pkt-ingest, slow handler (1 in ${SLOW.every} held ${SLOW.delayMs} ms)`,
    parses: true,
    compared: false,
    start: (n, dir) =>
      pktIngest('pkt-ingest slow handler', dir, [
        { type: 'module', name: 'slow', path: SLOW_HANDLER, options: { ...SLOW } },
        countHandler(n),
      ]),
  },
];

export function contender(key: ContenderKey): Contender {
  return CONTENDERS.find((c) => c.key === key) as Contender;
}
