/** Command line of the load generator: flags -> LoadOptions, or a UsageError naming the flag. */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { ClientTlsOptions } from '../../src/producer/connect.js';
import { UsageError } from '../../src/errors.js';
import { MAX_HEADER_LEN, MIN_HEADER_LEN } from '../../src/wire/constants.js';
import { DEFAULT_DURATION_S, LOAD_DEFAULTS, type LoadOptions } from './run-load.js';

export const HELP = `Usage: npm run load -- [options]

Sends PKT v1 frames to a pkt-ingest server over TCP and reports the throughput.
Frames are generated up front (seeded, cycled), then written in large batches.

Target
  --host ADDR           server address (default ${LOAD_DEFAULTS.host})
  --port N              server TCP port (default ${LOAD_DEFAULTS.port})
  --connections N       parallel connections (default ${LOAD_DEFAULTS.connections})

TLS (a server with tcp.tls)
  --tls                 connect over TLS; the server certificate is verified
  --ca FILE             PEM CA that signs the server certificate (default: the
                        system's roots)
  --cert FILE           PEM client certificate (tcp.tls.clientAuth request or
  --key FILE            require), with its unencrypted key
  --servername NAME     name to check the server certificate against (default:
                        --host; give it when --host is an IP address the
                        certificate does not name)

How much
  --packets N           total frames over all connections
  --duration S          or: seconds to run (default ${DEFAULT_DURATION_S})
  --rate PPS            target packets/s over all connections, evenly paced;
                        0 = as fast as possible (default 0)

Frames
  --payload BYTES       payload size (default ${LOAD_DEFAULTS.payloadMin})
  --payload-min BYTES   or: a size range, uniform, with --payload-max
  --payload-max BYTES
  --source-len BYTES    source id length (default ${LOAD_DEFAULTS.sourceLen})
  --dest-len BYTES      dest id length (default ${LOAD_DEFAULTS.destLen})
  --seed N              PRNG seed: same seed, same frames (default ${LOAD_DEFAULTS.seed})
  --corrupt-every K     every K-th frame of a connection gets a wrong checksum

Replay
  --replay FILE         send FILE's bytes as they are (a capture file), once per
                        connection, instead of generated frames: load from real
                        traffic. To replay a capture faithfully (frame by frame,
                        rotated files, --rate, per-source order), use
                        \`pkt-ingest replay\` (npx pkt-ingest replay --help)

Acknowledgements
  --acks                set ACK_REQUEST on every frame (docs/protocol.md); read the
                        server's ACKs, wait up to 10 s for the last ones and
                        report acked frames and the ack latency per write
                        (p50, p99). Not with --replay.

Output
  --json                print the final report as one JSON object
  -h, --help            show this help

The final report (stdout) gives packets, bytes, seconds, Mpkt/s, MB/s (10^6 B)
and errors. A live progress line goes to stderr when it is a terminal.
Exit status: 0 success, 1 connection failure, 2 usage error.`;

export type ParsedArgs = { help: true } | { help: false; json: boolean; options: LoadOptions };

const MAX_PAYLOAD = 256 * 1024 * 1024;
const MAX_CONNECTIONS = 10_000;

const OPTIONS = {
  host: { type: 'string' },
  port: { type: 'string' },
  connections: { type: 'string' },
  packets: { type: 'string' },
  duration: { type: 'string' },
  payload: { type: 'string' },
  'payload-min': { type: 'string' },
  'payload-max': { type: 'string' },
  'source-len': { type: 'string' },
  'dest-len': { type: 'string' },
  rate: { type: 'string' },
  seed: { type: 'string' },
  replay: { type: 'string' },
  'corrupt-every': { type: 'string' },
  tls: { type: 'boolean' },
  ca: { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  servername: { type: 'string' },
  acks: { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function pemFile(flag: string, path: string | undefined): Buffer | undefined {
  if (path === undefined) return undefined;
  if (path.length === 0) throw new UsageError(`--${flag} needs a file name`);
  try {
    return readFileSync(path);
  } catch (err) {
    throw new UsageError(`cannot read --${flag} file '${path}': ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

/** --tls and its files, read now so that a missing file is a usage error before any connection. */
function tlsOptions(v: { tls?: boolean; ca?: string; cert?: string; key?: string; servername?: string }): ClientTlsOptions | undefined {
  const given = (['ca', 'cert', 'key', 'servername'] as const).find((flag) => v[flag] !== undefined);
  if (!v.tls) {
    if (given !== undefined) throw new UsageError(`--${given} needs --tls`);
    return undefined;
  }
  if ((v.cert === undefined) !== (v.key === undefined)) throw new UsageError(`--cert and --key go together`);
  if (v.servername !== undefined && v.servername.length === 0) throw new UsageError(`--servername must not be empty`);
  return { ca: pemFile('ca', v.ca), cert: pemFile('cert', v.cert), key: pemFile('key', v.key), servername: v.servername };
}

function integer(flag: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!(n >= min && n <= max)) throw new UsageError(`--${flag} must be an integer ${min}..${max}, got '${value}'`);
  return n;
}

function decimal(flag: string, value: string | undefined, min: number, exclusive: boolean): number | undefined {
  if (value === undefined) return undefined;
  const n = /^\d+(\.\d+)?$/.test(value) ? Number(value) : NaN;
  if (!(exclusive ? n > min : n >= min) || !Number.isFinite(n)) {
    throw new UsageError(`--${flag} must be a number ${exclusive ? '>' : '>='} ${min}, got '${value}'`);
  }
  return n;
}

/** Node's parseArgs messages are long; keep one plain line naming the flag. */
function parse(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false });
  } catch (err) {
    const { code, message } = err as { code?: string; message: string };
    const quoted = /'([^']+)'/.exec(message)?.[1] ?? '';
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw new UsageError(`unknown option '${quoted}'`);
    if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') throw new UsageError(`unexpected argument '${quoted}'`);
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') throw new UsageError(message.split('. ')[0]);
    throw err;
  }
}

export function parseLoadArgs(argv: string[]): ParsedArgs {
  const { values: v } = parse(argv);
  if (v.help) return { help: true };

  if (v.host !== undefined && v.host.length === 0) throw new UsageError(`--host must not be empty`);
  const port = integer('port', v.port, 1, 65535);
  const connections = integer('connections', v.connections, 1, MAX_CONNECTIONS);
  const packets = integer('packets', v.packets, 1, Number.MAX_SAFE_INTEGER);
  const durationS = decimal('duration', v.duration, 0, true);
  const payload = integer('payload', v.payload, 0, MAX_PAYLOAD);
  const payloadMin = integer('payload-min', v['payload-min'], 0, MAX_PAYLOAD);
  const payloadMax = integer('payload-max', v['payload-max'], 0, MAX_PAYLOAD);
  const sourceLen = integer('source-len', v['source-len'], 0, MAX_HEADER_LEN - MIN_HEADER_LEN);
  const destLen = integer('dest-len', v['dest-len'], 0, MAX_HEADER_LEN - MIN_HEADER_LEN);
  const rate = decimal('rate', v.rate, 0, false);
  const seed = integer('seed', v.seed, 0, 0xffffffff);
  const corruptEvery = integer('corrupt-every', v['corrupt-every'], 0, Number.MAX_SAFE_INTEGER);

  if (v.replay !== undefined) {
    const generated = ['packets', 'duration', 'rate', 'payload', 'payload-min', 'payload-max', 'source-len', 'dest-len', 'seed', 'corrupt-every'] as const;
    const clash = generated.find((flag) => v[flag] !== undefined);
    if (clash !== undefined) throw new UsageError(`--replay sends the file as it is and cannot be combined with --${clash}`);
    if (v.replay.length === 0) throw new UsageError(`--replay needs a file name`);
    if (v.acks) throw new UsageError(`--replay sends the file as it is and cannot be combined with --acks`);
  }
  if (packets !== undefined && durationS !== undefined) throw new UsageError(`give --packets or --duration, not both`);
  if (payload !== undefined && (payloadMin !== undefined || payloadMax !== undefined)) {
    throw new UsageError(`give --payload or --payload-min/--payload-max, not both`);
  }
  if ((payloadMin === undefined) !== (payloadMax === undefined)) throw new UsageError(`--payload-min and --payload-max go together`);
  if (payloadMin !== undefined && payloadMax !== undefined && payloadMin > payloadMax) {
    throw new UsageError(`--payload-min (${payloadMin}) must not exceed --payload-max (${payloadMax})`);
  }
  const ids = (sourceLen ?? LOAD_DEFAULTS.sourceLen) + (destLen ?? LOAD_DEFAULTS.destLen);
  if (MIN_HEADER_LEN + ids > MAX_HEADER_LEN) {
    throw new UsageError(`--source-len plus --dest-len is ${ids}; a header allows at most ${MAX_HEADER_LEN - MIN_HEADER_LEN} id bytes`);
  }

  const options: LoadOptions = {
    host: v.host ?? LOAD_DEFAULTS.host,
    port: port ?? LOAD_DEFAULTS.port,
    connections: connections ?? LOAD_DEFAULTS.connections,
    packets,
    durationS: packets === undefined && v.replay === undefined ? (durationS ?? DEFAULT_DURATION_S) : undefined,
    payloadMin: payload ?? payloadMin ?? LOAD_DEFAULTS.payloadMin,
    payloadMax: payload ?? payloadMax ?? LOAD_DEFAULTS.payloadMax,
    sourceLen: sourceLen ?? LOAD_DEFAULTS.sourceLen,
    destLen: destLen ?? LOAD_DEFAULTS.destLen,
    rate: rate ?? LOAD_DEFAULTS.rate,
    seed: seed ?? LOAD_DEFAULTS.seed,
    corruptEvery: corruptEvery ?? LOAD_DEFAULTS.corruptEvery,
    replay: v.replay,
    tls: tlsOptions(v),
    acks: v.acks ?? false,
  };
  return { help: false, json: v.json ?? false, options };
}
