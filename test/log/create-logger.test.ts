/**
 * Log format for people: --log-format / PKT_INGEST_LOG_FORMAT / log.format,
 * JSON by default, pino-pretty lines with "pretty", and the lines logged
 * right before exit still written.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseCli } from '../../src/cli/parse-args.js';
import { loadConfig } from '../../src/config/load-config.js';
import { ConfigError, UsageError } from '../../src/errors.js';
import { createLogger } from '../../src/log/create-logger.js';
import { CLI, TSX, tempDir } from '../helpers/child-server.js';
import { until } from '../helpers/live-server.js';

function sink() {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}

const PRETTY_LINE = /^\[\d{2}:\d{2}:\d{2}\.\d{3}\] (INFO|WARN): [^\n]*\n$/;

describe('createLogger', () => {
  it('json (the default format): one JSON object per line', async () => {
    const out = sink();
    const log = await createLogger({ level: 'info', format: 'json' }, out.stream);
    log.info({ tcpPort: 7400 }, 'listening');
    await until(() => out.text().length > 0, 2000, 'a line');
    expect(JSON.parse(out.text())).toMatchObject({ level: 30, msg: 'listening', tcpPort: 7400 });
  });

  it('pretty: one line per record, "[time] LEVEL: msg {fields}", no pid or hostname, no colours off a terminal', async () => {
    const out = sink();
    const log = await createLogger({ level: 'info', format: 'pretty' }, out.stream);
    log.info({ tcpPort: 7400, httpPort: 7401 }, 'listening');
    // Synchronous: written before info() returns.
    expect(out.text()).toMatch(PRETTY_LINE);
    expect(out.text()).toContain('INFO: listening {"tcpPort":7400,"httpPort":7401}');
    expect(out.text()).not.toContain('pid');
    expect(out.text()).not.toContain('\u001b[');
    log.debug('below the level');
    log.warn({ listener: 'tcp' }, 'careful');
    const lines = out.text().split(/(?<=\n)/);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(PRETTY_LINE);
    expect(lines[1]).toContain('WARN: careful {"listener":"tcp"}');
  });
});

describe('log.format in the configuration', () => {
  it('defaults to json; log.format, PKT_INGEST_LOG_FORMAT and --log-format set it, in that precedence', () => {
    const dir = tempDir();
    const file = path.join(dir, 'c.json');
    fs.writeFileSync(file, JSON.stringify({ log: { format: 'pretty' } }));
    expect(loadConfig({ env: {} }).log.format).toBe('json');
    expect(loadConfig({ configPath: file, env: {} }).log.format).toBe('pretty');
    expect(loadConfig({ env: { PKT_INGEST_LOG_FORMAT: 'pretty' } }).log.format).toBe('pretty');
    expect(loadConfig({ configPath: file, env: { PKT_INGEST_LOG_FORMAT: 'json' } }).log.format).toBe('json');
    expect(loadConfig({ env: { PKT_INGEST_LOG_FORMAT: 'json' }, flags: { logFormat: 'pretty' } }).log.format).toBe('pretty');
  });

  it('rejects other values with one line naming the variable or key and what is allowed', () => {
    expect(() => loadConfig({ env: { PKT_INGEST_LOG_FORMAT: 'text' } })).toThrow(ConfigError);
    expect(() => loadConfig({ env: { PKT_INGEST_LOG_FORMAT: 'text' } })).toThrow('PKT_INGEST_LOG_FORMAT: "text" is not allowed (allowed: json, pretty)');
    const file = path.join(tempDir(), 'c.json');
    fs.writeFileSync(file, JSON.stringify({ log: { format: 'yaml' } }));
    expect(() => loadConfig({ configPath: file, env: {} })).toThrow('config log.format: "yaml" is not allowed (allowed: json, pretty)');
  });

  it('serve --log-format takes json or pretty', () => {
    expect(parseCli(['serve', '--log-format', 'pretty'])).toMatchObject({ kind: 'serve', flags: { logFormat: 'pretty' } });
    expect(() => parseCli(['serve', '--log-format', 'xml'])).toThrow(UsageError);
    expect(() => parseCli(['serve', '--log-format', 'xml'])).toThrow('--log-format: "xml" is not allowed (allowed: json, pretty)');
  });
});

describe('pkt-ingest serve --log-format pretty', () => {
  for (const how of ['flag', 'env'] as const) {
    it(`(${how}) prints lines for people from start-up to the last line before exit`, async () => {
      const dir = tempDir();
      const file = path.join(dir, 'config.json');
      fs.writeFileSync(file, JSON.stringify({ tcp: { host: '127.0.0.1', port: 0 }, http: { host: '127.0.0.1', port: 0 }, handlers: [] }));
      const args = ['--import', TSX, CLI, 'serve', '--config', file, ...(how === 'flag' ? ['--log-format', 'pretty'] : [])];
      const env = { ...process.env, PKT_INGEST_CONFIG: '', ...(how === 'env' && { PKT_INGEST_LOG_FORMAT: 'pretty' }) };
      const child = spawn(process.execPath, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env });
      const lines: string[] = [];
      readline.createInterface({ input: child.stdout }).on('line', (l) => lines.push(l));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      try {
        await until(() => lines.some((l) => l.includes('INFO: listening {')), 20_000, 'the pretty listening line');
        child.kill('SIGTERM');
        expect(await exited).toBe(0);
        // Give readline the rest of the pipe.
        await until(() => lines.some((l) => l.includes('INFO: stopped')), 5000, 'the stopped line');
        for (const l of lines) expect(`${l}\n`).toMatch(PRETTY_LINE);
        expect(lines.find((l) => l.includes('listening'))).toMatch(/INFO: listening \{"tcpPort":\d+,"httpPort":\d+,"onread":(true|false)\}/);
      } finally {
        child.kill('SIGKILL');
      }
    });
  }
});
