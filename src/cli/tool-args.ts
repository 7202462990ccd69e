/**
 * The people's tools on the command line: `dump`, `replay`, `top`. Their
 * flags, help texts and checks; parse-args.ts runs node:util parseArgs
 * with these options and hands the values here.
 */
import { UsageError } from '../errors.js';

export type PayloadEncoding = 'hex' | 'base64' | 'utf8' | 'none';
export const PAYLOAD_ENCODINGS: readonly PayloadEncoding[] = ['hex', 'base64', 'utf8', 'none'];

export interface DumpCommand {
  kind: 'dump';
  files: string[];
  json: boolean;
  /** Undefined: utf8 preview in text, base64 in JSON. */
  payload?: PayloadEncoding;
  source?: string;
  dest?: string;
  limit?: number;
  follow: boolean;
}

export interface ReplayCommand {
  kind: 'replay';
  files: string[];
  host: string;
  port: number;
  /** Packets per second over all connections; 0 = as fast as the server takes them. */
  rate: number;
  connections: number;
  acks: boolean;
}

export interface TopCommand {
  kind: 'top';
  url: string;
}

export type ToolCommand = DumpCommand | ReplayCommand | TopCommand;

export const TOOL_VALUES: Record<string, string> = {
  payload: PAYLOAD_ENCODINGS.join(', '),
  source: 'a source id',
  dest: 'a destination id',
  limit: 'an integer >= 1',
  rate: 'packets per second, a number > 0',
  connections: 'an integer 1..1000',
  url: 'an http:// or https:// URL',
};

const help = { type: 'boolean', short: 'h' } as const;

export const DUMP_OPTIONS = {
  json: { type: 'boolean' },
  payload: { type: 'string' },
  source: { type: 'string' },
  dest: { type: 'string' },
  limit: { type: 'string' },
  follow: { type: 'boolean', short: 'f' },
  help,
} as const;

export const REPLAY_OPTIONS = {
  host: { type: 'string' },
  port: { type: 'string' },
  rate: { type: 'string' },
  connections: { type: 'string' },
  acks: { type: 'boolean' },
  help,
} as const;

export const TOP_OPTIONS = { url: { type: 'string' }, help } as const;

export const DUMP_HELP = `Usage: pkt-ingest dump FILE... [--json] [--payload hex|base64|utf8|none]
                        [--source ID] [--dest ID] [--limit N] [--follow]

Print the frames of capture files, one line each. A capture path given alone
(e.g. data/capture.pkt) reads its rotated files oldest first (path.N ... path.1),
then the live one; several FILEs are read in the order given.

Text line: byte offset in its file, time (ISO 8601, UTC, microseconds),
source -> dest, flags by name, extensions by name[length], payload length and
a short preview. Each file starts with a "==> FILE <==" line when there are
several.

Options:
  --json           one JSON object per line: offset, version, flags (the byte),
                   timestamp (microseconds), sourceId, destId, extensions
                   ([{type,name,value(hex)}]), payloadLength, payload
  --payload ENC    hex, base64, utf8 or none: the preview (text) or the payload
                   field (JSON; none gives null). Default: utf8 preview in text
                   (non-printable bytes as \\xNN), base64 in JSON
  --source ID      only frames from this source id
  --dest ID        only frames to this destination id
  --limit N        stop after N printed frames
  -f, --follow     at the end of the live file, wait for new frames, across
                   rotations (like tail -F); Ctrl-C stops
  -h, --help       show this help

Exit status:
  0  every frame read was valid (or output was closed early, e.g. | head)
  1  an invalid frame: the frames before it are printed, then one line on stderr
  2  usage error, or a FILE is missing
`;

export const REPLAY_HELP = `Usage: pkt-ingest replay FILE... --host H --port N [--rate PKTS_PER_S]
                          [--connections N] [--acks]

Send the frames of capture files to a server, byte-exact and in order. A
capture path given alone reads its rotated files oldest first, then the live
one. Each frame is validated on the way (the same decoder as the server).

Options:
  --host H           server address (required)
  --port N           server TCP port (required)
  --rate R           at most R packets per second over all connections
                     (default: as fast as the server takes them)
  --connections N    spread frames over N connections (default 1); all frames
                     of one source id go on the same connection, in order
  --acks             set ACK_REQUEST on each frame (the only byte changed),
                     resend what a lost connection left unacknowledged, and
                     wait until the server acknowledged every frame
  -h, --help         show this help

A progress line goes to stderr on a terminal; a summary goes to stdout.

Exit status:
  0  every frame was sent (with --acks: and acknowledged)
  1  a frame could not be sent (connection failed or lost; with --acks: the
     server stayed unreachable for 8 reconnects) or a FILE holds an invalid
     frame
  2  usage error, or a FILE is missing
`;

export const TOP_HELP = `Usage: pkt-ingest top [--url URL]

A live terminal view of a running server, from its /status: packets/s and
bytes/s with a 60 s history, connections, frame errors by reason, handler
errors and state, backpressure pauses, ring bytes, lag and commit latency.
Refreshes every second. q (or Ctrl-C) quits.

On a terminal it redraws in place (alternate screen, restored on exit); when
stdout is not a terminal it prints one summary line per second.

Options:
  --url URL    the server's HTTP address (default http://127.0.0.1:7401)
  -h, --help   show this help

Exit status:
  0  quit with q or Ctrl-C
  1  the server could not be reached for 10 s
  2  usage error
`;

const usage = (command: string, line: string): UsageError => new UsageError(`${command}: ${line}; see pkt-ingest ${command} --help`);

function count(command: string, flag: string, raw: string | undefined, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined;
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= min && n <= max)) throw usage(command, `${flag}: ${JSON.stringify(raw)} is not allowed (allowed: an integer ${min}..${max})`);
  return n;
}

function files(command: string, positionals: readonly string[]): string[] {
  if (positionals.length === 0) throw usage(command, 'missing FILE (a capture file or a capture path)');
  const empty = positionals.find((f) => f === '');
  if (empty !== undefined) throw usage(command, 'FILE: "" is empty (allowed: a path to a capture file)');
  return [...positionals];
}

export function dumpCommand(values: Record<string, string | boolean | undefined>, positionals: readonly string[]): DumpCommand {
  const cmd: DumpCommand = { kind: 'dump', files: files('dump', positionals), json: values.json === true, follow: values.follow === true };
  const payload = values.payload as string | undefined;
  if (payload !== undefined) {
    if (!(PAYLOAD_ENCODINGS as readonly string[]).includes(payload)) {
      throw usage('dump', `--payload: ${JSON.stringify(payload)} is not allowed (allowed: ${TOOL_VALUES.payload})`);
    }
    cmd.payload = payload as PayloadEncoding;
  }
  if (typeof values.source === 'string') cmd.source = values.source;
  if (typeof values.dest === 'string') cmd.dest = values.dest;
  const limit = count('dump', '--limit', values.limit as string | undefined, 1, Number.MAX_SAFE_INTEGER);
  if (limit !== undefined) cmd.limit = limit;
  return cmd;
}

export function replayCommand(values: Record<string, string | boolean | undefined>, positionals: readonly string[]): ReplayCommand {
  const list = files('replay', positionals);
  const host = values.host as string | undefined;
  if (host === undefined || host === '') throw usage('replay', '--host is required (allowed: a host name or IP address)');
  if (values.port === undefined) throw usage('replay', '--port is required (allowed: 1..65535)');
  const port = count('replay', '--port', values.port as string, 1, 65535) as number;
  let rate = 0;
  const rawRate = values.rate as string | undefined;
  if (rawRate !== undefined) {
    rate = /^\d+(\.\d+)?$/.test(rawRate) ? Number(rawRate) : NaN;
    if (!(rate > 0 && Number.isFinite(rate))) throw usage('replay', `--rate: ${JSON.stringify(rawRate)} is not allowed (allowed: ${TOOL_VALUES.rate})`);
  }
  const connections = count('replay', '--connections', values.connections as string | undefined, 1, 1000) ?? 1;
  return { kind: 'replay', files: list, host, port, rate, connections, acks: values.acks === true };
}

export function topCommand(values: Record<string, string | boolean | undefined>, positionals: readonly string[]): TopCommand {
  if (positionals.length > 0) throw usage('top', `unexpected argument ${JSON.stringify(positionals[0])} (allowed: flags only)`);
  const raw = (values.url as string | undefined) ?? 'http://127.0.0.1:7401';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw usage('top', `--url: ${JSON.stringify(raw)} is not a URL (allowed: ${TOOL_VALUES.url})`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw usage('top', `--url: ${JSON.stringify(raw)} is not allowed (allowed: ${TOOL_VALUES.url})`);
  }
  return { kind: 'top', url: url.href.replace(/\/$/, '') };
}
