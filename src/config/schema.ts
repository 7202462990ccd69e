/**
 * The configuration schema (JSON Schema draft-07, validated by ajv with
 * `useDefaults` and `discriminator`) and the `Config` type it yields.
 * The defaults here are the built-in defaults; config/default.json spells
 * out the same values (a test keeps them equal).
 */
import { MAX_HEADER_LEN, MIN_HEADER_LEN } from '../wire/constants.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** `json`: pino JSON lines (the default); `pretty`: pino-pretty lines for people. */
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export const HANDLER_TYPES = ['capture', 'log', 'forward', 'module', 'jetstream'] as const;
export type HandlerType = (typeof HANDLER_TYPES)[number];

export const TLS_CLIENT_AUTH = ['none', 'request', 'require'] as const;
export type TlsClientAuth = (typeof TLS_CLIENT_AUTH)[number];
export const TLS_MIN_VERSIONS = ['TLSv1.2', 'TLSv1.3'] as const;
export type TlsMinVersion = (typeof TLS_MIN_VERSIONS)[number];
export const PROXY_PROTOCOL_MODES = ['off', 'v1', 'v2', 'any'] as const;
export type ProxyProtocolMode = (typeof PROXY_PROTOCOL_MODES)[number];

const MiB = 1024 * 1024;
/** Largest limits.maxPayloadBytes accepted. */
export const MAX_PAYLOAD_BYTES_LIMIT = 1024 * MiB;
/** Node timers overflow above 2^31-1 ms (and then fire after 1 ms). */
const MAX_TIMER_MS = 2 ** 31 - 1;

const int = (minimum: number, maximum: number, def?: number) =>
  def === undefined
    ? { type: 'integer', minimum, maximum }
    : { type: 'integer', minimum, maximum, default: def };
const count = (minimum: number, def: number) => int(minimum, Number.MAX_SAFE_INTEGER, def);
const ms = (minimum: number, def: number) => int(minimum, MAX_TIMER_MS, def);
const port = (def?: number) => int(0, 65535, def);
const str = (def?: string) =>
  def === undefined ? { type: 'string', minLength: 1 } : { type: 'string', minLength: 1, default: def };
const oneOf = <T extends readonly string[]>(values: T, def: T[number]) => ({ enum: [...values], default: def });

/** A closed object whose missing members take their defaults. */
function section<P extends Record<string, object>>(properties: P) {
  return { type: 'object', additionalProperties: false, default: {}, properties };
}

/** `null` (the default: feature off) or a closed object with its required keys. */
function optionalObject<P extends Record<string, object>>(properties: P, required: string[]) {
  return { type: 'object', nullable: true, default: null, additionalProperties: false, required, properties };
}

/** One handler variant; `name` defaults to the type, so metrics always have a label. */
function handler<T extends HandlerType, P extends Record<string, object>>(type: T, properties: P, required: string[] = []) {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['type', ...required],
    properties: { type: { const: type }, name: str(type), ...properties },
  };
}

export const DEFAULT_CAPTURE_PATH = 'data/capture.pkt';

export const configSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://pkt-ingest.local/config.schema.json',
  type: 'object',
  additionalProperties: false,
  properties: {
    tcp: section({
      host: str('0.0.0.0'),
      port: port(7400),
      maxConnections: count(1, 10000),
      maxConnectionsPerAddress: count(1, 1000),
      idleTimeoutMs: ms(0, 60000),
      ringBytes: int(4096, 64 * MiB, 262144),
      tls: optionalObject({
        certFile: str(),
        keyFile: str(),
        caFile: str(),
        clientAuth: oneOf(TLS_CLIENT_AUTH, 'none'),
        minVersion: oneOf(TLS_MIN_VERSIONS, 'TLSv1.2'),
      }, ['certFile', 'keyFile']),
      // CIDR syntax is checked by load-config (ajv's formats do not cover CIDR).
      allow: { type: 'array', default: [], items: str() },
      proxyProtocol: oneOf(PROXY_PROTOCOL_MODES, 'off'),
    }),
    http: section({
      host: str('0.0.0.0'),
      port: port(7401),
      tls: optionalObject({ certFile: str(), keyFile: str() }, ['certFile', 'keyFile']),
    }),
    limits: section({
      // The format allows 4 GiB, but a frame is held whole in memory: 1 GiB is the sane ceiling.
      maxPayloadBytes: int(0, MAX_PAYLOAD_BYTES_LIMIT, MiB),
      maxHeaderBytes: int(MIN_HEADER_LEN, MAX_HEADER_LEN, 4096),
      // A packet held (its promise unsettled) this long fails its handler and ends its connection; 0 disables.
      handlerTimeoutMs: ms(0, 30000),
    }),
    onFrameError: oneOf(['close', 'resync'] as const, 'close'),
    onChecksumError: oneOf(['drop', 'close'] as const, 'drop'),
    handlers: {
      type: 'array',
      default: [{ type: 'capture', path: DEFAULT_CAPTURE_PATH }],
      items: {
        type: 'object',
        required: ['type'],
        discriminator: { propertyName: 'type' },
        oneOf: [
          handler('capture', {
            path: str(),
            fsync: oneOf(['always', 'interval', 'never'] as const, 'interval'),
            fsyncIntervalMs: ms(1, 1000),
            rotateBytes: count(1, 256 * MiB),
            keepFiles: count(0, 8),
          }, ['path']),
          handler('log', { level: oneOf(LOG_LEVELS, 'info') }),
          handler('forward', {
            host: str(),
            port: int(1, 65535),
            queueBytes: count(1, 16 * MiB),
            reconnectMinMs: ms(1, 100),
            reconnectMaxMs: ms(1, 30000),
            // Request ACKs from the target and commit a frame only once it acknowledged it.
            acks: { type: 'boolean', default: false },
          }, ['host', 'port']),
          // `options` is the one free-form object: it belongs to the module.
          handler('module', { path: str(), options: { type: 'object', default: {} } }, ['path']),
          // Names and defaults as docs/jetstream.md; subject and stream syntax are checked in load-config.
          handler('jetstream', {
            servers: { type: 'array', minItems: 1, items: str(), default: ['nats://127.0.0.1:4222'] },
            stream: str('PKT'),
            subject: str('pkt.ingest'),
            createStream: { type: 'boolean', default: true },
            // The NATS server's max_payload (1 MiB by default) bounds a message, headers included.
            maxMessageBytes: int(1024, 64 * MiB, MiB),
            maxInFlight: int(1, 65536, 256),
            per: oneOf(['run', 'frame'] as const, 'run'),
          }),
        ],
      },
    },
    log: section({ level: oneOf(LOG_LEVELS, 'info'), format: oneOf(LOG_FORMATS, 'json') }),
    shutdown: section({ drainTimeoutMs: ms(0, 10000) }),
    readiness: section({
      // How long every ring may stay full before /readyz answers 503.
      stalledMs: ms(0, 5000),
    }),
  },
};

interface HandlerBase {
  /** Unique among handlers; the `handler` label in metrics. Defaults to `type`. */
  readonly name: string;
}

export interface CaptureHandlerConfig extends HandlerBase {
  readonly type: 'capture';
  readonly path: string;
  readonly fsync: 'always' | 'interval' | 'never';
  readonly fsyncIntervalMs: number;
  readonly rotateBytes: number;
  readonly keepFiles: number;
}

export interface LogHandlerConfig extends HandlerBase {
  readonly type: 'log';
  readonly level: LogLevel;
}

export interface ForwardHandlerConfig extends HandlerBase {
  readonly type: 'forward';
  readonly host: string;
  readonly port: number;
  /** Bound of the queue kept while the target is slow or down. */
  readonly queueBytes: number;
  readonly reconnectMinMs: number;
  readonly reconnectMaxMs: number;
  /** Request acknowledgements from the target (ACK_REQUEST) and commit on its ACKs. */
  readonly acks: boolean;
}

export interface ModuleHandlerConfig extends HandlerBase {
  readonly type: 'module';
  readonly path: string;
  readonly options: Readonly<Record<string, unknown>>;
}

export interface JetStreamHandlerConfig extends HandlerBase {
  readonly type: 'jetstream';
  /** NATS URLs, tried in turn (nats://host:port). */
  readonly servers: readonly string[];
  readonly stream: string;
  /** May hold `{source}` and `{dest}`: each becomes one subject token. */
  readonly subject: string;
  /** Create the stream (file storage, the subjects) if it is missing. */
  readonly createStream: boolean;
  /** Largest message data (whole frames); a single larger frame is a handler error. */
  readonly maxMessageBytes: number;
  /** Publishes awaiting their PubAck at most. */
  readonly maxInFlight: number;
  /** `run`: many frames per message; `frame`: one (deduplicated by the sequence extension). */
  readonly per: 'run' | 'frame';
}

export type HandlerConfig =
  | CaptureHandlerConfig
  | LogHandlerConfig
  | ForwardHandlerConfig
  | ModuleHandlerConfig
  | JetStreamHandlerConfig;

/** `tcp.tls`: PEM files read at start-up and on SIGHUP. */
export interface TcpTlsConfig {
  readonly certFile: string;
  readonly keyFile: string;
  /** Verifies client certificates; required unless clientAuth is `none`. */
  readonly caFile?: string;
  readonly clientAuth: TlsClientAuth;
  readonly minVersion: TlsMinVersion;
}

/** `http.tls`: HTTPS for /healthz, /readyz, /metrics, /status. */
export interface HttpTlsConfig {
  readonly certFile: string;
  readonly keyFile: string;
}

/** A validated configuration: every default applied, deeply frozen. */
export interface Config {
  readonly tcp: {
    readonly host: string;
    readonly port: number;
    readonly maxConnections: number;
    readonly maxConnectionsPerAddress: number;
    /** 0 disables the idle timeout. */
    readonly idleTimeoutMs: number;
    readonly ringBytes: number;
    /** null: plain TCP. */
    readonly tls: TcpTlsConfig | null;
    /** CIDR blocks allowed to connect; empty allows everyone. */
    readonly allow: readonly string[];
    readonly proxyProtocol: ProxyProtocolMode;
  };
  readonly http: { readonly host: string; readonly port: number; readonly tls: HttpTlsConfig | null };
  readonly limits: {
    readonly maxPayloadBytes: number;
    readonly maxHeaderBytes: number;
    /** 0 disables; see src/handlers/handler-timeout.ts. */
    readonly handlerTimeoutMs: number;
  };
  readonly onFrameError: 'close' | 'resync';
  readonly onChecksumError: 'drop' | 'close';
  readonly handlers: readonly HandlerConfig[];
  readonly log: { readonly level: LogLevel; readonly format: LogFormat };
  readonly shutdown: { readonly drainTimeoutMs: number };
  readonly readiness: { readonly stalledMs: number };
}
