import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { configSchema, HANDLER_TYPES, LOG_LEVELS, type Config } from '../../src/config/schema.js';

const defaultJson = JSON.parse(readFileSync(new URL('../../config/default.json', import.meta.url), 'utf8'));
const validate = new Ajv({ useDefaults: true, discriminator: true }).compile(configSchema);

/** Validates a copy and returns it with the defaults applied. */
function withDefaults(input: unknown): unknown {
  const copy = structuredClone(input);
  expect(validate(copy), JSON.stringify(validate.errors)).toBe(true);
  return copy;
}

type Node = Record<string, unknown>;

/** Every object schema in the tree with its JSON pointer. */
function* objectSchemas(node: Node, path = '#'): Generator<[string, Node]> {
  if (node.type === 'object') yield [path, node];
  for (const [key, child] of Object.entries((node.properties ?? {}) as Record<string, Node>)) {
    yield* objectSchemas(child, `${path}/properties/${key}`);
  }
  if (node.items) yield* objectSchemas(node.items as Node, `${path}/items`);
  for (const [i, child] of ((node.oneOf ?? []) as Node[]).entries()) yield* objectSchemas(child, `${path}/oneOf/${i}`);
}

describe('config schema', () => {
  it('accepts config/default.json', () => {
    expect(validate(structuredClone(defaultJson)), JSON.stringify(validate.errors)).toBe(true);
  });

  it('has defaults equal to config/default.json', () => {
    expect(withDefaults({})).toEqual(withDefaults(defaultJson));
  });

  it('needs nothing beyond config/default.json but the default handler name', () => {
    const named = { ...defaultJson, handlers: [{ ...defaultJson.handlers[0], name: 'capture' }] };
    expect(withDefaults(defaultJson)).toEqual(named);
  });

  it('closes every object but a module handler options', () => {
    const open: string[] = [];
    for (const [path, node] of objectSchemas(configSchema)) {
      if (node.additionalProperties !== false) open.push(path);
    }
    expect(open).toEqual(['#/properties/handlers/items', '#/properties/handlers/items/oneOf/3/properties/options']);
    // The handler item itself is closed by whichever variant the discriminator picks.
    expect(configSchema.properties.handlers.items.oneOf.every((v) => v.additionalProperties === false)).toBe(true);
  });

  it('gives every section member a default', () => {
    for (const [path, node] of objectSchemas(configSchema)) {
      // Sections default to {} and so must every member; handler variants and
      // optional objects (default null, e.g. tcp.tls) have required keys.
      if (!('default' in node) || node.default === null || !node.properties) continue;
      for (const [key, child] of Object.entries(node.properties as Record<string, Node>)) {
        expect(child, `${path}/properties/${key}`).toHaveProperty('default');
      }
    }
  });

  it('lists the handler variants in HANDLER_TYPES order', () => {
    const types = configSchema.properties.handlers.items.oneOf.map((v) => v.properties.type.const);
    expect(types).toEqual([...HANDLER_TYPES]);
  });

  it('defaults every handler variant, the name being its type', () => {
    const handlers = [
      { type: 'log' },
      { type: 'forward', host: 'collector', port: 7400 },
      { type: 'module', path: './h.js' },
      { type: 'capture', path: 'x.pkt', name: 'cap' },
    ];
    expect((withDefaults({ handlers }) as Config).handlers).toEqual([
      { type: 'log', name: 'log', level: 'info' },
      {
        type: 'forward', name: 'forward', host: 'collector', port: 7400,
        queueBytes: 16 * 1024 * 1024, reconnectMinMs: 100, reconnectMaxMs: 30000, acks: false,
      },
      { type: 'module', name: 'module', path: './h.js', options: {} },
      {
        type: 'capture', name: 'cap', path: 'x.pkt', fsync: 'interval',
        fsyncIntervalMs: 1000, rotateBytes: 256 * 1024 * 1024, keepFiles: 8,
      },
    ]);
  });

  it.each([
    ['tcp.port', { tcp: { port: 65536 } }],
    ['tcp.port', { tcp: { port: -1 } }],
    ['tcp.ringBytes', { tcp: { ringBytes: 4095 } }],
    ['tcp.ringBytes', { tcp: { ringBytes: 64 * 1024 * 1024 + 1 } }],
    ['tcp.maxConnections', { tcp: { maxConnections: 0 } }],
    ['tcp.maxConnectionsPerAddress', { tcp: { maxConnectionsPerAddress: 0 } }],
    ['tcp.idleTimeoutMs', { tcp: { idleTimeoutMs: -1 } }],
    ['limits.maxPayloadBytes', { limits: { maxPayloadBytes: 2 ** 30 + 1 } }],
    ['limits.maxHeaderBytes', { limits: { maxHeaderBytes: 25 } }],
    ['limits.maxHeaderBytes', { limits: { maxHeaderBytes: 65536 } }],
    ['shutdown.drainTimeoutMs', { shutdown: { drainTimeoutMs: -1 } }],
    ['log.level', { log: { level: 'verbose' } }],
  ])('rejects an out-of-range %s', (_key, input) => {
    expect(validate(input)).toBe(false);
  });

  it.each([
    { tcp: { port: 0, ringBytes: 4096, idleTimeoutMs: 0 } },
    { tcp: { port: 65535, ringBytes: 64 * 1024 * 1024 } },
    { limits: { maxPayloadBytes: 0, maxHeaderBytes: 26 } },
    { limits: { maxPayloadBytes: 2 ** 30, maxHeaderBytes: 65535 } },
    ...LOG_LEVELS.map((level) => ({ log: { level } })),
  ])('accepts the boundary values %j', (input) => {
    expect(validate(input), JSON.stringify(validate.errors)).toBe(true);
  });

  it('describes every Config key at the top level', () => {
    const keys: Record<keyof Config, true> = {
      tcp: true, http: true, limits: true, onFrameError: true, onChecksumError: true,
      handlers: true, log: true, shutdown: true, readiness: true,
    };
    expect(Object.keys(configSchema.properties).sort()).toEqual(Object.keys(keys).sort());
  });
});
