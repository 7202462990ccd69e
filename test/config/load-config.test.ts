import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type LoadConfigOptions } from '../../src/config/load-config.js';
import { ConfigError, ErrorCodes } from '../../src/errors.js';

const defaultJson = JSON.parse(readFileSync(new URL('../../config/default.json', import.meta.url), 'utf8'));

const dir = mkdtempSync(join(tmpdir(), 'pkt-ingest-config-'));
let n = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes a config file (an object as JSON, a string as is) and returns its path. */
function file(content: unknown): string {
  const path = join(dir, `config-${n++}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

const load = (opts: LoadConfigOptions = {}) => loadConfig({ env: {}, ...opts });
const loadFile = (content: unknown) => load({ configPath: file(content) });

/** The ConfigError message `fn` throws. */
function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe(ErrorCodes.CONFIG);
    const message = (err as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error('expected a ConfigError');
}
const fileError = (content: unknown) => errorOf(() => loadFile(content));

const TCP_KEYS = 'host, port, maxConnections, maxConnectionsPerAddress, idleTimeoutMs, ringBytes, tls, allow, proxyProtocol';

describe('loadConfig defaults', () => {
  it('applies the built-in defaults, equal to config/default.json, without a file', () => {
    const named = { ...defaultJson, handlers: [{ ...defaultJson.handlers[0], name: 'capture' }] };
    expect(load()).toEqual(named);
  });

  it('gives one default capture handler when the file has no handlers key', () => {
    expect(loadFile({ tcp: { port: 1 } }).handlers).toEqual(load().handlers);
  });

  it('allows "handlers": [] (count only)', () => {
    expect(loadFile({ handlers: [] }).handlers).toEqual([]);
  });

  it('keeps the defaults of a section the file fills in part', () => {
    const config = loadFile({ tcp: { port: 9000 } });
    expect(config.tcp).toEqual({ ...defaultJson.tcp, port: 9000 });
  });

  it('reads the file named by PKT_INGEST_CONFIG', () => {
    expect(load({ env: { PKT_INGEST_CONFIG: file({ tcp: { port: 9001 } }) } }).tcp.port).toBe(9001);
  });

  it('prefers --config over PKT_INGEST_CONFIG', () => {
    const config = load({ configPath: file({ tcp: { port: 9002 } }), env: { PKT_INGEST_CONFIG: file({ tcp: { port: 9003 } }) } });
    expect(config.tcp.port).toBe(9002);
  });

  it('takes module options as they are, nested included', () => {
    const options = { url: 'x', nested: { list: [1, { a: null }] }, flag: true };
    const config = loadFile({ handlers: [{ type: 'module', path: './h.js', options }] });
    expect(config.handlers[0]).toEqual({ type: 'module', name: 'module', path: './h.js', options });
  });

  it('returns a deeply frozen object', () => {
    const config = loadFile({ handlers: [{ type: 'module', path: './h.js', options: { deep: { x: 1 } } }] });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.tcp)).toBe(true);
    expect(Object.isFrozen(config.handlers)).toBe(true);
    expect(Object.isFrozen(config.handlers[0])).toBe(true);
    const handler = config.handlers[0];
    expect(handler.type === 'module' && Object.isFrozen(handler.options.deep)).toBe(true);
    expect(() => {
      (config.tcp as { port: number }).port = 1;
    }).toThrow(TypeError);
  });

  it('returns a fresh object each time', () => {
    expect(load()).not.toBe(load());
    expect(load().handlers).not.toBe(load().handlers);
  });
});

describe('loadConfig precedence: flag > env > file > default', () => {
  const cases = [
    { flag: 'host', env: 'PKT_INGEST_HOST', get: (c: ReturnType<typeof load>) => c.tcp.host, file: { tcp: { host: '10.0.0.1' } }, values: ['127.0.0.1', '::1', 'localhost'], fallback: '0.0.0.0' },
    { flag: 'port', env: 'PKT_INGEST_PORT', get: (c: ReturnType<typeof load>) => c.tcp.port, file: { tcp: { port: 1000 } }, values: [2000, 3000, 0], fallback: 7400 },
    { flag: 'httpPort', env: 'PKT_INGEST_HTTP_PORT', get: (c: ReturnType<typeof load>) => c.http.port, file: { http: { port: 1001 } }, values: [2001, 3001, 0], fallback: 7401 },
    { flag: 'logLevel', env: 'PKT_INGEST_LOG_LEVEL', get: (c: ReturnType<typeof load>) => c.log.level, file: { log: { level: 'warn' } }, values: ['debug', 'silent', 'trace'], fallback: 'info' },
  ] as const;

  describe.each(cases)('$flag / $env', ({ flag, env, get, file: content, values: [fromEnv, fromFlag], fallback }) => {
    const configPath = () => file(content);
    const fromFile = Object.values(Object.values(content)[0])[0];

    it('uses the default without anything else', () => expect(get(load())).toBe(fallback));
    it('takes the file over the default', () => expect(get(load({ configPath: configPath() }))).toBe(fromFile));
    it('takes the env over the file', () => {
      expect(get(load({ configPath: configPath(), env: { [env]: String(fromEnv) } }))).toBe(fromEnv);
    });
    it('takes the flag over the env', () => {
      const config = load({ configPath: configPath(), env: { [env]: String(fromEnv) }, flags: { [flag]: fromFlag } });
      expect(get(config)).toBe(fromFlag);
    });
    it('treats an empty variable as unset', () => {
      expect(get(load({ configPath: configPath(), env: { [env]: '' } }))).toBe(fromFile);
    });
  });

  it('leaves http.host to the file even when --host is given', () => {
    const config = load({ configPath: file({ http: { host: '127.0.0.1' } }), flags: { host: '::1' } });
    expect(config.http.host).toBe('127.0.0.1');
    expect(config.tcp.host).toBe('::1');
  });
});

describe('loadConfig errors in the file', () => {
  it('names a key out of range', () => {
    expect(fileError({ tcp: { port: 70000 } })).toBe('config tcp.port: 70000 is out of range (allowed: 0..65535)');
    expect(fileError({ tcp: { ringBytes: 100 } })).toBe('config tcp.ringBytes: 100 is out of range (allowed: 4096..67108864)');
    expect(fileError({ tcp: { maxConnections: 0 } })).toBe('config tcp.maxConnections: 0 is out of range (allowed: an integer >= 1)');
    expect(fileError({ handlers: [{ type: 'capture', path: 'a', keepFiles: -1 }] })).toBe(
      'config handlers[0].keepFiles: -1 is out of range (allowed: an integer >= 0)',
    );
  });

  it('names an unknown handler type', () => {
    expect(fileError({ handlers: [{ type: 'log' }, { type: 'kafka' }] })).toBe(
      'config handlers[1].type: "kafka" is not allowed (allowed: capture, log, forward, module, jetstream)',
    );
    expect(fileError({ handlers: [{ type: 7 }] })).toBe('config handlers[0].type: 7 is not allowed (allowed: capture, log, forward, module, jetstream)');
    expect(fileError({ handlers: [{ path: 'x' }] })).toBe('config handlers[0].type: missing (required: one of capture, log, forward, module, jetstream)');
  });

  it.each([
    [{ prot: 1 }, 'config prot: unknown key (allowed keys: tcp, http, limits, onFrameError, onChecksumError, handlers, log, shutdown, readiness)'],
    [{ tcp: { prot: 1 } }, `config tcp.prot: unknown key (allowed keys: ${TCP_KEYS})`],
    [{ http: { ssl: true } }, 'config http.ssl: unknown key (allowed keys: host, port, tls)'],
    [{ limits: { maxFrames: 1 } }, 'config limits.maxFrames: unknown key (allowed keys: maxPayloadBytes, maxHeaderBytes, handlerTimeoutMs)'],
    [{ log: { pretty: true } }, 'config log.pretty: unknown key (allowed keys: level, format)'],
    [{ shutdown: { grace: 1 } }, 'config shutdown.grace: unknown key (allowed keys: drainTimeoutMs)'],
    [{ readiness: { x: 1 } }, 'config readiness.x: unknown key (allowed keys: stalledMs)'],
    [
      { handlers: [{ type: 'capture', path: 'a', fsynch: 'never' }] },
      'config handlers[0].fsynch: unknown key (allowed keys: type, name, path, fsync, fsyncIntervalMs, rotateBytes, keepFiles)',
    ],
    [{ handlers: [{ type: 'log', path: 'a' }] }, 'config handlers[0].path: unknown key (allowed keys: type, name, level)'],
    [
      { handlers: [{ type: 'forward', host: 'h', port: 1, queue: 1 }] },
      'config handlers[0].queue: unknown key (allowed keys: type, name, host, port, queueBytes, reconnectMinMs, reconnectMaxMs, acks)',
    ],
    [{ handlers: [{ type: 'module', path: 'm.js', option: {} }] }, 'config handlers[0].option: unknown key (allowed keys: type, name, path, options)'],
    [{ tcp: { 'a b': 1 } }, `config tcp["a b"]: unknown key (allowed keys: ${TCP_KEYS})`],
  ])('rejects an unknown key: %j', (input, message) => {
    expect(fileError(input)).toBe(message);
  });

  it.each([
    [[], 'config: [] is not an object'],
    [{ tcp: 'x' }, 'config tcp: "x" is not an object'],
    [{ tcp: { port: '7400' } }, 'config tcp.port: "7400" is not an integer (allowed: 0..65535)'],
    [{ tcp: { port: 1.5 } }, 'config tcp.port: 1.5 is not an integer (allowed: 0..65535)'],
    [{ tcp: { host: 1 } }, 'config tcp.host: 1 is not a string'],
    [{ tcp: { host: '' } }, 'config tcp.host: "" is empty (allowed: a non-empty string)'],
    [{ handlers: {} }, 'config handlers: {} is not an array'],
    [{ handlers: [5] }, 'config handlers[0]: 5 is not an object'],
    [{ handlers: [{ type: 'module', path: 'm.js', options: [] }] }, 'config handlers[0].options: [] is not an object'],
    [{ handlers: [{ type: 'log', name: null }] }, 'config handlers[0].name: null is not a string'],
    [{ log: { level: 5 } }, 'config log.level: 5 is not allowed (allowed: fatal, error, warn, info, debug, trace, silent)'],
    [{ onFrameError: 'skip' }, 'config onFrameError: "skip" is not allowed (allowed: close, resync)'],
    [{ onChecksumError: 'ignore' }, 'config onChecksumError: "ignore" is not allowed (allowed: drop, close)'],
    [
      { handlers: [{ type: 'capture', path: 'a', fsync: 'sometimes' }] },
      'config handlers[0].fsync: "sometimes" is not allowed (allowed: always, interval, never)',
    ],
  ])('rejects a wrong type or value: %j', (input, message) => {
    expect(fileError(input)).toBe(message);
  });

  it.each([
    [{ type: 'capture' }, 'config handlers[0].path: missing (required: a non-empty string)'],
    [{ type: 'forward', port: 1 }, 'config handlers[0].host: missing (required: a non-empty string)'],
    [{ type: 'forward', host: 'h' }, 'config handlers[0].port: missing (required: 1..65535)'],
    [{ type: 'module' }, 'config handlers[0].path: missing (required: a non-empty string)'],
  ])('requires the keys a handler cannot do without: %j', (handler, message) => {
    expect(fileError({ handlers: [handler] })).toBe(message);
  });

  it('rejects duplicate handler names, explicit or by default', () => {
    expect(fileError({ handlers: [{ type: 'log' }, { type: 'log' }] })).toBe(
      'config handlers[1].name: "log" is a duplicate of handlers[0].name (allowed: unique names; a handler without a name is named after its type)',
    );
    expect(fileError({ handlers: [{ type: 'log', name: 'x' }, { type: 'capture', path: 'a' }, { type: 'module', path: 'm', name: 'x' }] })).toMatch(
      /^config handlers\[2\]\.name: "x" is a duplicate of handlers\[0\]\.name /,
    );
    expect(loadFile({ handlers: [{ type: 'log' }, { type: 'log', name: 'log2' }] }).handlers.map((h) => h.name)).toEqual(['log', 'log2']);
  });

  it('rejects a forward reconnectMaxMs below reconnectMinMs', () => {
    expect(fileError({ handlers: [{ type: 'forward', host: 'h', port: 1, reconnectMinMs: 500, reconnectMaxMs: 100 }] })).toBe(
      'config handlers[0].reconnectMaxMs: 100 is below reconnectMinMs (allowed: >= 500)',
    );
  });

  it('cuts a long value short', () => {
    expect(fileError({ tcp: { host: ['x'.repeat(200)] } })).toMatch(/^config tcp\.host: \["x{50,}\.\.\. is not a string$/);
  });
});

describe('loadConfig errors in the environment and flags', () => {
  it.each([
    [{ PKT_INGEST_PORT: 'abc' }, 'PKT_INGEST_PORT: "abc" is not an integer (allowed: 0..65535)'],
    [{ PKT_INGEST_PORT: '1.5' }, 'PKT_INGEST_PORT: "1.5" is not an integer (allowed: 0..65535)'],
    [{ PKT_INGEST_PORT: '70000' }, 'PKT_INGEST_PORT: "70000" is out of range (allowed: 0..65535)'],
    [{ PKT_INGEST_PORT: '-1' }, 'PKT_INGEST_PORT: "-1" is out of range (allowed: 0..65535)'],
    [{ PKT_INGEST_HTTP_PORT: ' 80' }, 'PKT_INGEST_HTTP_PORT: " 80" is not an integer (allowed: 0..65535)'],
    [{ PKT_INGEST_LOG_LEVEL: 'INFO' }, 'PKT_INGEST_LOG_LEVEL: "INFO" is not allowed (allowed: fatal, error, warn, info, debug, trace, silent)'],
  ])('rejects %j', (env, message) => {
    expect(errorOf(() => load({ env }))).toBe(message);
  });

  it('coerces an env port to a number', () => {
    expect(load({ env: { PKT_INGEST_PORT: '0', PKT_INGEST_HTTP_PORT: '08080' } }).http.port).toBe(8080);
  });

  it.each([
    [{ port: 70000 }, '--port: 70000 is out of range (allowed: 0..65535)'],
    [{ httpPort: 1.5 }, '--http-port: 1.5 is not an integer (allowed: 0..65535)'],
    [{ host: '' }, '--host: "" is empty (allowed: a non-empty string)'],
    [{ logLevel: 'loud' }, '--log-level: "loud" is not allowed (allowed: fatal, error, warn, info, debug, trace, silent)'],
  ])('rejects the flags %j', (flags, message) => {
    expect(errorOf(() => load({ flags }))).toBe(message);
  });

  it('rejects an empty --config', () => {
    expect(errorOf(() => load({ configPath: '' }))).toBe('--config: "" is empty (allowed: a path to a JSON config file)');
  });
});

describe('loadConfig file errors', () => {
  it('names a missing file and the fix', () => {
    const missing = join(dir, 'nope.json');
    expect(errorOf(() => load({ configPath: missing }))).toBe(
      `config file ${missing} (from --config): not found; fix: point --config at a readable JSON file, or omit it to use the built-in defaults`,
    );
    expect(errorOf(() => load({ env: { PKT_INGEST_CONFIG: missing } }))).toContain(`config file ${missing} (from PKT_INGEST_CONFIG): not found`);
  });

  it('names a directory', () => {
    expect(errorOf(() => load({ configPath: dir }))).toContain(`config file ${dir} (from --config): is a directory`);
  });

  it('names invalid JSON with its line and column', () => {
    const path = file('{\n  "tcp": {\n    "port": 1,\n  }\n}');
    expect(errorOf(() => load({ configPath: path }))).toMatch(
      new RegExp(`^config file ${path} \\(from --config\\): invalid JSON at line 4 column 3 \\(.+\\); fix the JSON syntax$`),
    );
    expect(errorOf(() => load({ configPath: file('') }))).toMatch(/invalid JSON \(Unexpected end of JSON input\)/);
  });

  it('accepts a byte order mark', () => {
    expect(load({ configPath: file('\uFEFF{"tcp":{"port":1}}') }).tcp.port).toBe(1);
  });
});
