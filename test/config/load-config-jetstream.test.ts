/** The `jetstream` handler's configuration: defaults, and errors that name the key (src/config/load-config.ts). */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { ConfigError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'pkt-ingest-jsconfig-'));
let n = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function load(handler: Record<string, unknown>) {
  const path = join(dir, `config-${n++}.json`);
  writeFileSync(path, JSON.stringify({ handlers: [{ type: 'jetstream', ...handler }] }));
  return loadConfig({ env: {}, configPath: path });
}

function errorOf(handler: Record<string, unknown>): string {
  try {
    load(handler);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).not.toContain('\n');
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('jetstream handler configuration', () => {
  it('fills in the defaults of CONTRACT.md', () => {
    expect(load({}).handlers[0]).toEqual({
      type: 'jetstream',
      name: 'jetstream',
      servers: ['nats://127.0.0.1:4222'],
      stream: 'PKT',
      subject: 'pkt.ingest',
      createStream: true,
      maxMessageBytes: 1048576,
      maxInFlight: 256,
      per: 'run',
    });
  });

  it('accepts subject templates whose placeholders are whole tokens', () => {
    expect(load({ subject: 'pkt.{source}.{dest}' }).handlers[0]).toMatchObject({ subject: 'pkt.{source}.{dest}' });
  });

  it.each([
    [{ subject: 'pkt.*' }, /handlers\[0\]\.subject: "pkt\.\*" contains a wildcard/u],
    [{ subject: 'pkt..x' }, /handlers\[0\]\.subject: .*empty token/u],
    [{ subject: 'pkt.x{source}' }, /handlers\[0\]\.subject: .*whole token/u],
    [{ subject: 'pkt.{sauce}' }, /handlers\[0\]\.subject: .*not \{source\} or \{dest\}/u],
    [{ subject: 'pkt in' }, /handlers\[0\]\.subject: .*whitespace/u],
    [{ stream: 'P.K' }, /handlers\[0\]\.stream: "P\.K"/u],
    [{ servers: ['http://x:1'] }, /handlers\[0\]\.servers\[0\]: "http:\/\/x:1" is not a NATS URL/u],
    [{ servers: [] }, /handlers\[0\]\.servers/u],
    [{ maxInFlight: 0 }, /handlers\[0\]\.maxInFlight: 0 is out of range \(allowed: 1\.\.65536\)/u],
    [{ maxMessageBytes: 10 }, /handlers\[0\]\.maxMessageBytes: 10 is out of range/u],
    [{ per: 'batch' }, /handlers\[0\]\.per: "batch" is not allowed \(allowed: run, frame\)/u],
    [{ createStream: 'yes' }, /handlers\[0\]\.createStream: "yes" is not a boolean/u],
    [{ ackTimeoutMs: 5 }, /handlers\[0\]\.ackTimeoutMs: unknown key/u],
  ])('%j is an error naming the key', (handler, expected) => {
    expect(errorOf(handler)).toMatch(expected);
  });
});
