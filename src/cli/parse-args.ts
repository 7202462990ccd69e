/**
 * Command-line parsing: argv (without `node` and the script) to a command.
 * Only the shape of the command line is checked here; config keys and
 * environment variables are checked by loadConfig.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../errors.js';
import { configSchema, LOG_FORMATS, LOG_LEVELS } from '../config/schema.js';
import * as tools from './tool-args.js';

export interface ServeFlags {
  host?: string;
  port?: number;
  httpPort?: number;
  logLevel?: string;
  logFormat?: string;
}

export type CliCommand =
  | { kind: 'help'; text: string }
  | { kind: 'version' }
  | { kind: 'serve'; configPath?: string; flags: ServeFlags }
  | { kind: 'inspect'; file: string; json: boolean; configPath?: string }
  | tools.ToolCommand;

const { tcp, http, log } = configSchema.properties;
const PORTS = '0..65535';
/** What each string flag takes, for error messages. */
const VALUES: Record<string, string> = {
  config: 'a path to a JSON config file',
  host: 'a host name or IP address',
  port: PORTS,
  'http-port': PORTS,
  'log-level': LOG_LEVELS.join(', '),
  'log-format': LOG_FORMATS.join(', '),
  ...tools.TOOL_VALUES,
};
const SEE_HELP = 'see pkt-ingest --help';

const EXIT_STATUS = `Exit status:
  0  shut down by SIGTERM or SIGINT (drained or drain timeout reached),
     every delivered frame handed on
  1  start-up failure (port in use, unwritable capture directory)
  2  usage or configuration error (unknown flag or key, wrong type,
     out-of-range value, bad environment value)
  3  a shutdown that left delivered frames unwritten (a full disk, a
     forward target down: one log line per handler with the count), or
  3  a second SIGTERM or SIGINT during the shutdown: exited at once,
     frames delivered but not yet written may be lost`;

export const SERVE_HELP = `Usage: pkt-ingest serve [--config FILE] [--host ADDR] [--port N] [--http-port N] [--log-level L] [--log-format F]

Run the ingest server: PKT frames on TCP (docs/protocol.md); on HTTP:
/healthz, /readyz, /metrics (Prometheus) and /status (a JSON summary for people).
Precedence: flag > environment variable > config file > built-in default.

Options:
  --config FILE    JSON config file          env PKT_INGEST_CONFIG     default: none (built-in defaults)
  --host ADDR      TCP listen address        env PKT_INGEST_HOST       default: ${tcp.properties.host.default}
  --port N         TCP port, 0 = any free    env PKT_INGEST_PORT       default: ${tcp.properties.port.default}
  --http-port N    HTTP port, 0 = any free   env PKT_INGEST_HTTP_PORT  default: ${http.properties.port.default}
  --log-level L    ${LOG_LEVELS.join('|')}
                                             env PKT_INGEST_LOG_LEVEL  default: ${log.properties.level.default}
  --log-format F   ${LOG_FORMATS.join('|')}: JSON lines, or lines for people
                                             env PKT_INGEST_LOG_FORMAT default: ${log.properties.format.default}
  -h, --help       show this help

The HTTP listen address is http.host in the config file (default ${http.properties.host.default}).
Both listeners bind every interface by default; the start-up log warns and
says how to bind privately (--host 127.0.0.1, http.host "127.0.0.1").
An empty environment variable counts as unset.

${EXIT_STATUS}
`;

export const INSPECT_HELP = `Usage: pkt-ingest inspect FILE [--json] [--config FILE]

Validate a capture file frame by frame, with the limits from the config, and
print a summary: frames, bytes, errors per reason, the first bad frame's byte
offset and reason, and a torn last frame's offset.

Options:
  --json           print one JSON object:
                   {"frames","bytes","errors":{reason:count},"firstError":{"offset","reason"}|null,"torn":{"offset"}|null}
  --config FILE    JSON config file for the limits   env PKT_INGEST_CONFIG   default: none (built-in limits)
  -h, --help       show this help

Exit status:
  0  every frame is valid (an empty file is valid)
  1  not every frame is valid
  2  usage or configuration error, or FILE is missing
`;

export const GLOBAL_HELP = `pkt-ingest: TCP ingest server for PKT v1 binary frames

Usage:
  pkt-ingest serve [--config FILE] [--host ADDR] [--port N] [--http-port N] [--log-level L] [--log-format F]
  pkt-ingest inspect FILE [--json] [--config FILE]
  pkt-ingest dump FILE... [--json] [--payload hex|base64|utf8|none] [--source ID] [--dest ID] [--limit N] [--follow]
  pkt-ingest replay FILE... --host H --port N [--rate PKTS_PER_S] [--connections N] [--acks]
  pkt-ingest top [--url URL]
  pkt-ingest help [COMMAND]        same as pkt-ingest COMMAND --help
  pkt-ingest -h, --help            show this help
  pkt-ingest -v, --version         print the version

Environment (below flags, above the config file), with the built-in defaults:
  PKT_INGEST_CONFIG      config file, when no --config is given   default: none
  PKT_INGEST_HOST        tcp.host     (--host)                    default: ${tcp.properties.host.default}
  PKT_INGEST_PORT        tcp.port     (--port)                    default: ${tcp.properties.port.default}
  PKT_INGEST_HTTP_PORT   http.port    (--http-port)               default: ${http.properties.port.default}
  PKT_INGEST_LOG_LEVEL   log.level    (--log-level)               default: ${log.properties.level.default}
  PKT_INGEST_LOG_FORMAT  log.format   (--log-format)              default: ${log.properties.format.default}
HTTP: /healthz, /readyz, /metrics, /status on http.host (default ${http.properties.host.default}):${http.properties.port.default}.
Wire format: docs/protocol.md.

${EXIT_STATUS}
  (inspect, dump: 0 all frames valid, 1 not, 2 usage error or missing FILE;
   replay: 0 every frame sent, 1 not; see pkt-ingest COMMAND --help)
`;

const help = { type: 'boolean', short: 'h' } as const;
const config = { type: 'string' } as const;
const SERVE_OPTIONS = {
  config,
  host: { type: 'string' },
  port: { type: 'string' },
  'http-port': { type: 'string' },
  'log-level': { type: 'string' },
  'log-format': { type: 'string' },
  help,
} as const;
const INSPECT_OPTIONS = { json: { type: 'boolean' }, config, help } as const;
const GLOBAL_OPTIONS = { help, version: { type: 'boolean', short: 'v' } } as const;

const COMMANDS = {
  serve: { help: SERVE_HELP, options: SERVE_OPTIONS, run: parseServe },
  inspect: { help: INSPECT_HELP, options: INSPECT_OPTIONS, run: parseInspect },
  dump: { help: tools.DUMP_HELP, options: tools.DUMP_OPTIONS, run: (args: readonly string[]) => parseTool('dump', args) },
  replay: { help: tools.REPLAY_HELP, options: tools.REPLAY_OPTIONS, run: (args: readonly string[]) => parseTool('replay', args) },
  top: { help: tools.TOP_HELP, options: tools.TOP_OPTIONS, run: (args: readonly string[]) => parseTool('top', args) },
};
const TOOLS = { dump: tools.dumpCommand, replay: tools.replayCommand, top: tools.topCommand };
type CommandName = keyof typeof COMMANDS;
const COMMAND_NAMES = Object.keys(COMMANDS).join(', ');

const isCommand = (name: string | undefined): name is CommandName => name !== undefined && Object.hasOwn(COMMANDS, name);

export function parseCli(argv: readonly string[]): CliCommand {
  const [first, ...rest] = argv;
  if (first === undefined) return { kind: 'help', text: GLOBAL_HELP };
  if (first === 'help') return helpFor(rest);
  if (first.startsWith('-')) return parseGlobal(argv);
  if (!isCommand(first)) throw usage(`unknown command ${JSON.stringify(first)} (allowed: ${COMMAND_NAMES}, help)`);
  return COMMANDS[first].run(rest);
}

function parseServe(args: readonly string[]): CliCommand {
  const { values, positionals } = parse(args, SERVE_OPTIONS, 'serve');
  if (values.help) return { kind: 'help', text: SERVE_HELP };
  if (positionals.length > 0) throw usage(`serve: unexpected argument ${JSON.stringify(positionals[0])} (allowed: flags only)`);
  const flags: ServeFlags = {};
  const host = nonEmpty(values.host, '--host', VALUES.host);
  if (host !== undefined) flags.host = host;
  if (values.port !== undefined) flags.port = parsePort(values.port, '--port');
  if (values['http-port'] !== undefined) flags.httpPort = parsePort(values['http-port'], '--http-port');
  const level = values['log-level'];
  if (level !== undefined) {
    if (!(LOG_LEVELS as readonly string[]).includes(level)) {
      throw usage(`--log-level: ${JSON.stringify(level)} is not allowed (allowed: ${VALUES['log-level']})`);
    }
    flags.logLevel = level;
  }
  const format = values['log-format'];
  if (format !== undefined) {
    if (!(LOG_FORMATS as readonly string[]).includes(format)) {
      throw usage(`--log-format: ${JSON.stringify(format)} is not allowed (allowed: ${VALUES['log-format']})`);
    }
    flags.logFormat = format;
  }
  const configPath = nonEmpty(values.config, '--config', VALUES.config);
  return { kind: 'serve', flags, ...(configPath !== undefined && { configPath }) };
}

function parseInspect(args: readonly string[]): CliCommand {
  const { values, positionals } = parse(args, INSPECT_OPTIONS, 'inspect');
  if (values.help) return { kind: 'help', text: INSPECT_HELP };
  if (positionals.length === 0) throw usage('inspect: missing FILE (usage: pkt-ingest inspect FILE [--json] [--config FILE])');
  if (positionals.length > 1) throw usage(`inspect: unexpected argument ${JSON.stringify(positionals[1])} (allowed: one FILE)`);
  const file = nonEmpty(positionals[0], 'inspect FILE', 'a path to a capture file')!;
  const configPath = nonEmpty(values.config, '--config', VALUES.config);
  return { kind: 'inspect', file, json: values.json === true, ...(configPath !== undefined && { configPath }) };
}

function parseTool(name: keyof typeof TOOLS, args: readonly string[]): CliCommand {
  const { values, positionals } = parse(args, COMMANDS[name].options, name);
  if (values.help) return { kind: 'help', text: COMMANDS[name].help };
  return TOOLS[name](values as Record<string, string | boolean | undefined>, positionals);
}

function parseGlobal(argv: readonly string[]): CliCommand {
  const { values, positionals } = parse(argv, GLOBAL_OPTIONS, undefined);
  if (values.help) return helpFor(positionals);
  if (values.version) return { kind: 'version' };
  // Only reachable through `--`: what follows the terminator is parsed afresh.
  return parseCli(positionals);
}

function helpFor(args: readonly string[]): CliCommand {
  const [name, extra] = args;
  if (name === undefined) return { kind: 'help', text: GLOBAL_HELP };
  if (!isCommand(name) || extra !== undefined) {
    throw usage(`help: unknown command ${JSON.stringify(args.join(' '))} (allowed: ${COMMAND_NAMES})`);
  }
  return { kind: 'help', text: COMMANDS[name].help };
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** parseArgs in strict mode; its errors are re-described from the tokens. */
function parse<O extends Options>(args: readonly string[], options: O, command: CommandName | undefined) {
  try {
    return parseArgs({ args: [...args], options, strict: true, allowPositionals: true });
  } catch (err) {
    throw explain(args, options, command, err as Error);
  }
}

function explain(args: readonly string[], options: Options, command: CommandName | undefined, err: Error): UsageError {
  const { tokens } = parseArgs({ args: [...args], options, strict: false, allowPositionals: true, tokens: true });
  const flags = Object.entries(options).map(([name, o]) => (o.short ? `-${o.short}, --${name}` : `--${name}`));
  const scope = command ?? 'pkt-ingest without a command';
  for (const t of tokens) {
    if (t.kind !== 'option') continue;
    const spec = options[t.name];
    if (spec === undefined) {
      const known = Object.values(COMMANDS).some((c) => Object.hasOwn(c.options, t.name));
      const hint = command === undefined && known ? '; it goes after a command' : '';
      return usage(`${t.rawName}: unknown flag for ${scope} (allowed: ${flags.join(', ')})${hint}`);
    }
    if (spec.type === 'boolean' && t.inlineValue) {
      return usage(`${t.rawName}: takes no value, got ${JSON.stringify(t.value)} (allowed: ${t.rawName} alone)`);
    }
    if (spec.type === 'string' && (t.value === undefined || (!t.inlineValue && t.value.startsWith('-')))) {
      const before = t.value === undefined ? '' : ` before ${JSON.stringify(t.value)}`;
      const dash = t.value === undefined ? '' : `; write ${t.rawName}=VALUE for a value starting with "-"`;
      return usage(`${t.rawName}: missing value${before} (allowed: ${VALUES[t.name] ?? 'a value'}${dash})`);
    }
  }
  return usage(err.message.split('\n')[0]);
}

function parsePort(raw: string, flag: string): number {
  if (!/^\d+$/.test(raw)) throw usage(`${flag}: ${JSON.stringify(raw)} is not an integer (allowed: ${PORTS})`);
  const port = Number(raw);
  if (port > 65535) throw usage(`${flag}: ${raw} is out of range (allowed: ${PORTS})`);
  return port;
}

function nonEmpty(value: string | boolean | undefined, name: string, what: string): string | undefined {
  if (value === '') throw usage(`${name}: "" is empty (allowed: ${what})`);
  return typeof value === 'string' ? value : undefined;
}

const usage = (line: string) => new UsageError(`${line}; ${SEE_HELP}`);
