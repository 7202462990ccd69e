/**
 * Builds the effective configuration. Precedence, highest first:
 * command-line flag > environment variable > config file > schema default.
 * Every problem is a ConfigError with one plain line naming the key, flag or
 * variable, the value and what is allowed.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { ConfigError } from '../errors.js';
import { CIDR_HELP, parseCidr } from '../socket/allowlist.js';
import { streamNameProblem, subjectTemplateProblem } from '../sinks/jetstream-subject.js';
import { configSchema, type Config, type JetStreamHandlerConfig } from './schema.js';

export interface ConfigFlags {
  host: string;
  port: number;
  httpPort: number;
  logLevel: string;
  logFormat: string;
}

export interface LoadConfigOptions {
  /** From --config; wins over PKT_INGEST_CONFIG. */
  configPath?: string;
  /** Defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  flags?: Partial<ConfigFlags>;
}

type SchemaNode = Record<string, unknown> & { properties?: Record<string, SchemaNode> };

// Compiled once at import: validation then costs one generated function call.
const ajv = new Ajv({ useDefaults: true, discriminator: true, verbose: true, allErrors: false });
const validateConfig = ajv.compile(configSchema);

const props = configSchema.properties;
const OVERRIDES = [
  { env: 'PKT_INGEST_HOST', flag: '--host', flagKey: 'host', section: 'tcp', key: 'host', node: props.tcp.properties.host },
  { env: 'PKT_INGEST_PORT', flag: '--port', flagKey: 'port', section: 'tcp', key: 'port', node: props.tcp.properties.port },
  { env: 'PKT_INGEST_HTTP_PORT', flag: '--http-port', flagKey: 'httpPort', section: 'http', key: 'port', node: props.http.properties.port },
  { env: 'PKT_INGEST_LOG_LEVEL', flag: '--log-level', flagKey: 'logLevel', section: 'log', key: 'level', node: props.log.properties.level },
  { env: 'PKT_INGEST_LOG_FORMAT', flag: '--log-format', flagKey: 'logFormat', section: 'log', key: 'format', node: props.log.properties.format },
].map((o) => {
  // ajv strict mode rejects `default` at a schema root.
  const { default: _unused, ...node } = o.node as SchemaNode;
  return { ...o, node: node as SchemaNode, validate: ajv.compile(node) };
});

export function loadConfig(opts: LoadConfigOptions = {}): Config {
  const env = opts.env ?? process.env;
  const flags = opts.flags ?? {};
  const raw = readSource(opts.configPath, env);
  if (!validateConfig(raw)) throw new ConfigError(describe(validateConfig.errors![0], 'config'));
  const config = raw as Record<string, Record<string, unknown>>;

  for (const o of OVERRIDES) {
    const fromEnv = env[o.env];
    // An empty variable counts as unset, as shells and compose files produce them.
    if (fromEnv !== undefined && fromEnv !== '') {
      config[o.section][o.key] = checkOverride(o, coerce(o.node, fromEnv, o.env), o.env, quote(fromEnv));
    }
    const fromFlag = flags[o.flagKey as keyof ConfigFlags];
    if (fromFlag !== undefined) {
      config[o.section][o.key] = checkOverride(o, fromFlag, o.flag, show(fromFlag));
    }
  }
  checkHandlers(raw as Config);
  checkTcpSecurity(raw as Config);
  return deepFreeze(raw as Config);
}

function readSource(flagPath: string | undefined, env: NodeJS.ProcessEnv): unknown {
  if (flagPath === '') throw new ConfigError('--config: "" is empty (allowed: a path to a JSON config file)');
  const envPath = env.PKT_INGEST_CONFIG === '' ? undefined : env.PKT_INGEST_CONFIG;
  const path = flagPath ?? envPath;
  if (path === undefined) return {};
  const origin = flagPath !== undefined ? '--config' : 'PKT_INGEST_CONFIG';
  const file = resolve(path);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const what =
      code === 'ENOENT' ? 'not found' : code === 'EISDIR' ? 'is a directory' : `cannot be read (${code ?? String(err)})`;
    throw new ConfigError(
      `config file ${file} (from ${origin}): ${what}; fix: point ${origin} at a readable JSON file, or omit it to use the built-in defaults`,
    );
  }
  try {
    // Editors on Windows may prepend a byte order mark.
    return JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    const reason = (err as Error).message.replace(/\s+/g, ' ');
    throw new ConfigError(`config file ${file} (from ${origin}): invalid JSON${position(text, reason)} (${reason}); fix the JSON syntax`);
  }
}

/** " at line L column C" when V8 reports a position. */
function position(text: string, reason: string): string {
  const m = /position (\d+)/.exec(reason);
  if (!m) return '';
  const before = text.slice(0, Number(m[1])).split('\n');
  return ` at line ${before.length} column ${before[before.length - 1].length + 1}`;
}

function coerce(node: SchemaNode, value: string, name: string): unknown {
  if (node.type !== 'integer') return value;
  if (!/^-?\d+$/.test(value)) throw new ConfigError(`${name}: ${quote(value)} is not an integer (allowed: ${allowed(node)})`);
  return Number(value);
}

function checkOverride(o: { validate: ValidateFunction }, value: unknown, name: string, shown: string): unknown {
  if (!o.validate(value)) throw new ConfigError(describe(o.validate.errors![0], name, shown));
  return value;
}

function checkHandlers(config: Config): void {
  const seen = new Map<string, number>();
  config.handlers.forEach((h, i) => {
    const first = seen.get(h.name);
    if (first !== undefined) {
      throw new ConfigError(
        `config handlers[${i}].name: ${quote(h.name)} is a duplicate of handlers[${first}].name (allowed: unique names; a handler without a name is named after its type)`,
      );
    }
    seen.set(h.name, i);
    if (h.type === 'forward' && h.reconnectMaxMs < h.reconnectMinMs) {
      throw new ConfigError(
        `config handlers[${i}].reconnectMaxMs: ${h.reconnectMaxMs} is below reconnectMinMs (allowed: >= ${h.reconnectMinMs})`,
      );
    }
    if (h.type === 'jetstream') checkJetStream(h, i);
  });
}

/** What JSON Schema cannot say about a jetstream handler: subject and stream syntax, server URLs. */
function checkJetStream(h: JetStreamHandlerConfig, i: number): void {
  const subject = subjectTemplateProblem(h.subject);
  if (subject !== null) {
    throw new ConfigError(
      `config handlers[${i}].subject: ${quote(h.subject)} ${subject} (allowed: dot-separated tokens, each literal or exactly {source} or {dest}, e.g. "pkt.{source}.{dest}")`,
    );
  }
  const stream = streamNameProblem(h.stream);
  if (stream !== null) throw new ConfigError(`config handlers[${i}].stream: ${quote(h.stream)} ${stream} (allowed: e.g. "PKT")`);
  h.servers.forEach((url, k) => {
    if (!/^(nats|tls):\/\/[^\s/]+$/u.test(url) && !/^[^\s/:]+:\d+$/u.test(url)) {
      throw new ConfigError(`config handlers[${i}].servers[${k}]: ${quote(url)} is not a NATS URL (allowed: nats://host:port, tls://host:port or host:port)`);
    }
  });
}

/** What ajv cannot say: CIDR syntax, and a CA to verify client certificates against. */
function checkTcpSecurity(config: Config): void {
  config.tcp.allow.forEach((entry, i) => {
    if (parseCidr(entry) === null) throw new ConfigError(`config tcp.allow[${i}]: ${show(entry)} is not a CIDR block (allowed: ${CIDR_HELP})`);
  });
  const tls = config.tcp.tls;
  if (tls !== null && tls.clientAuth !== 'none' && tls.caFile === undefined) {
    throw new ConfigError(
      `config tcp.tls.caFile: missing while tcp.tls.clientAuth is ${show(tls.clientAuth)} (required: the PEM file of the CA that signs client certificates, or set clientAuth to "none")`,
    );
  }
}

/** One ajv error as one line: `<label> <path>: <value> <problem> (allowed: ...)`. */
function describe(e: ErrorObject, label: string, shown?: string): string {
  const parent = (e.parentSchema ?? {}) as SchemaNode;
  const at = (key?: string) => {
    const path = join(pointerToPath(e.instancePath), key);
    return path === '' ? label : `${label} ${path}`;
  };
  const value = shown ?? show(e.data);
  switch (e.keyword) {
    case 'additionalProperties':
      return `${at(e.params.additionalProperty)}: unknown key (allowed keys: ${Object.keys(parent.properties ?? {}).join(', ')})`;
    case 'required': {
      const key: string = e.params.missingProperty;
      // A handler's `type` is described by the variants the discriminator picks from.
      const node = parent.properties?.[key] ?? (Array.isArray(parent.oneOf) ? parent : {});
      return `${at(key)}: missing (required: ${allowed(node)})`;
    }
    case 'discriminator':
      return `${at('type')}: ${show(e.params.tagValue)} is not allowed (allowed: ${handlerTypes(parent).join(', ')})`;
    case 'type': {
      const range = parent.type === 'integer' ? ` (allowed: ${allowed(parent)})` : '';
      return `${at()}: ${value} is not ${article(String(e.params.type))}${range}`;
    }
    case 'minimum':
    case 'maximum':
      return `${at()}: ${value} is out of range (allowed: ${allowed(parent)})`;
    case 'enum':
      return `${at()}: ${value} is not allowed (allowed: ${allowed(parent)})`;
    case 'minLength':
      return `${at()}: ${value} is empty (allowed: ${allowed(parent)})`;
    default:
      return `${at()}: ${value} ${e.message ?? 'is not allowed'}`;
  }
}

/** What a schema node accepts, in words. */
function allowed(node: SchemaNode): string {
  if (Array.isArray(node.enum)) return node.enum.join(', ');
  if (Array.isArray(node.oneOf)) return `one of ${handlerTypes(node).join(', ')}`;
  if (node.type === 'integer') {
    const { minimum: min, maximum: max } = node as { minimum: number; maximum: number };
    return max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `${min}..${max}`;
  }
  if (node.type === 'string') return 'a non-empty string';
  return article(String(node.type ?? 'value'));
}

function handlerTypes(node: SchemaNode): string[] {
  return (node.oneOf as SchemaNode[]).map((s) => String(s.properties?.type.const));
}

const article = (type: string) => (/^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`);

function pointerToPath(pointer: string): string {
  let path = '';
  for (const raw of pointer.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    path = /^\d+$/.test(seg) ? `${path}[${seg}]` : join(path, seg);
  }
  return path;
}

function join(path: string, key: string | undefined): string {
  if (key === undefined) return path;
  if (!/^[A-Za-z_$][\w$]*$/.test(key)) return `${path}[${JSON.stringify(key)}]`;
  return path === '' ? key : `${path}.${key}`;
}

const quote = (s: string) => JSON.stringify(s);

/** A value as JSON, cut short so the message stays one readable line. */
function show(v: unknown): string {
  const s = typeof v === 'number' || v === undefined ? String(v) : (JSON.stringify(v) ?? String(v));
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    for (const child of Object.values(v)) deepFreeze(child);
    Object.freeze(v);
  }
  return v;
}
