import { describe, it, expect } from 'vitest';
import { GLOBAL_HELP, INSPECT_HELP, SERVE_HELP, parseCli } from '../../src/cli/parse-args.js';
import { ErrorCodes, UsageError } from '../../src/errors.js';

/** The UsageError message parseCli throws for argv. */
function usageError(argv: string[]): string {
  try {
    parseCli(argv);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).code).toBe(ErrorCodes.USAGE);
    const message = (err as Error).message;
    expect(message).not.toContain('\n');
    expect(message).toMatch(/; see pkt-ingest --help$/);
    return message.replace(/; see pkt-ingest --help$/, '');
  }
  throw new Error(`expected a UsageError for ${JSON.stringify(argv)}`);
}

describe('parseCli help and version', () => {
  it.each([[[]], [['--help']], [['-h']], [['help']]])('prints the global help for %j', (argv) => {
    expect(parseCli(argv)).toEqual({ kind: 'help', text: GLOBAL_HELP });
  });

  it.each([
    [['serve', '--help'], SERVE_HELP],
    [['serve', '-h'], SERVE_HELP],
    [['serve', '--port', '1', '--help'], SERVE_HELP],
    [['inspect', '--help'], INSPECT_HELP],
    [['inspect', 'file.pkt', '-h'], INSPECT_HELP],
    [['help', 'serve'], SERVE_HELP],
    [['--help', 'inspect'], INSPECT_HELP],
  ])('prints the command help for %j', (argv, text) => {
    expect(parseCli(argv)).toEqual({ kind: 'help', text });
  });

  it.each([[['--version']], [['-v']]])('prints the version for %j', (argv) => {
    expect(parseCli(argv)).toEqual({ kind: 'version' });
  });

  it('documents each serve flag with its env var and default', () => {
    for (const [flag, env, def] of [
      ['--config FILE', 'PKT_INGEST_CONFIG', 'none'],
      ['--host ADDR', 'PKT_INGEST_HOST', '0.0.0.0'],
      ['--port N', 'PKT_INGEST_PORT', '7400'],
      ['--http-port N', 'PKT_INGEST_HTTP_PORT', '7401'],
    ]) {
      expect(SERVE_HELP).toMatch(new RegExp(`^  ${flag} .*env ${env} +default: ${def}`, 'm'));
    }
    expect(SERVE_HELP).toMatch(/--log-level L +fatal\|error\|warn\|info\|debug\|trace\|silent\n +env PKT_INGEST_LOG_LEVEL +default: info/);
  });

  it('documents the exit codes', () => {
    for (const text of [GLOBAL_HELP, SERVE_HELP, INSPECT_HELP]) {
      expect(text).toMatch(/^ {2}0 /m);
      expect(text).toMatch(/^ {2}1 /m);
      expect(text).toMatch(/^ {2}2 /m);
    }
    expect(GLOBAL_HELP).toContain('PKT_INGEST_CONFIG');
    expect(INSPECT_HELP).toContain('--json');
  });
});

describe('parseCli serve', () => {
  it('parses no flags', () => {
    expect(parseCli(['serve'])).toEqual({ kind: 'serve', flags: {} });
  });

  it('parses every flag, separate or with =', () => {
    const argv = ['serve', '--config', 'c.json', '--host', '::1', '--port=0', '--http-port', '65535', '--log-level', 'silent'];
    expect(parseCli(argv)).toEqual({
      kind: 'serve',
      configPath: 'c.json',
      flags: { host: '::1', port: 0, httpPort: 65535, logLevel: 'silent' },
    });
  });

  it('lets the last of a repeated flag win', () => {
    expect(parseCli(['serve', '--port', '1', '--port', '2'])).toEqual({ kind: 'serve', flags: { port: 2 } });
  });

  it.each([
    [['serve', '--port', 'abc'], '--port: "abc" is not an integer (allowed: 0..65535)'],
    [['serve', '--port', '1.5'], '--port: "1.5" is not an integer (allowed: 0..65535)'],
    [['serve', '--port', '0x10'], '--port: "0x10" is not an integer (allowed: 0..65535)'],
    [['serve', '--port='], '--port: "" is not an integer (allowed: 0..65535)'],
    [['serve', '--port', '70000'], '--port: 70000 is out of range (allowed: 0..65535)'],
    [['serve', '--port=-1'], '--port: "-1" is not an integer (allowed: 0..65535)'],
    [['serve', '--http-port', '65536'], '--http-port: 65536 is out of range (allowed: 0..65535)'],
    [['serve', '--port'], '--port: missing value (allowed: 0..65535)'],
    [
      ['serve', '--port', '--host', 'x'],
      '--port: missing value before "--host" (allowed: 0..65535; write --port=VALUE for a value starting with "-")',
    ],
    [['serve', '--log-level', 'loud'], '--log-level: "loud" is not allowed (allowed: fatal, error, warn, info, debug, trace, silent)'],
    [['serve', '--host', ''], '--host: "" is empty (allowed: a host name or IP address)'],
    [['serve', '--config', ''], '--config: "" is empty (allowed: a path to a JSON config file)'],
    [
      ['serve', '--prot', '1'],
      '--prot: unknown flag for serve (allowed: --config, --host, --port, --http-port, --log-level, --log-format, -h, --help)',
    ],
    [['serve', '-p', '1'], '-p: unknown flag for serve (allowed: --config, --host, --port, --http-port, --log-level, --log-format, -h, --help)'],
    [['serve', '--json'], '--json: unknown flag for serve (allowed: --config, --host, --port, --http-port, --log-level, --log-format, -h, --help)'],
    [['serve', 'extra'], 'serve: unexpected argument "extra" (allowed: flags only)'],
  ])('rejects %j', (argv, message) => {
    expect(usageError(argv)).toBe(message);
  });
});

describe('parseCli inspect', () => {
  it('parses FILE, --json and --config in any order', () => {
    expect(parseCli(['inspect', 'a.pkt'])).toEqual({ kind: 'inspect', file: 'a.pkt', json: false });
    expect(parseCli(['inspect', '--json', 'a.pkt', '--config', 'c.json'])).toEqual({
      kind: 'inspect',
      file: 'a.pkt',
      json: true,
      configPath: 'c.json',
    });
  });

  it('takes a FILE starting with "-" after --', () => {
    expect(parseCli(['inspect', '--', '-weird.pkt'])).toEqual({ kind: 'inspect', file: '-weird.pkt', json: false });
  });

  it.each([
    [['inspect'], 'inspect: missing FILE (usage: pkt-ingest inspect FILE [--json] [--config FILE])'],
    [['inspect', '--json'], 'inspect: missing FILE (usage: pkt-ingest inspect FILE [--json] [--config FILE])'],
    [['inspect', 'a', 'b'], 'inspect: unexpected argument "b" (allowed: one FILE)'],
    [['inspect', ''], 'inspect FILE: "" is empty (allowed: a path to a capture file)'],
    [['inspect', 'a', '--json=yes'], '--json: takes no value, got "yes" (allowed: --json alone)'],
    [['inspect', 'a', '--port', '1'], '--port: unknown flag for inspect (allowed: --json, --config, -h, --help)'],
    [['inspect', 'a', '--config'], '--config: missing value (allowed: a path to a JSON config file)'],
  ])('rejects %j', (argv, message) => {
    expect(usageError(argv)).toBe(message);
  });
});

describe('parseCli commands', () => {
  it.each([
    [['start'], 'unknown command "start" (allowed: serve, inspect, dump, replay, top, help)'],
    [['Serve'], 'unknown command "Serve" (allowed: serve, inspect, dump, replay, top, help)'],
    [['help', 'start'], 'help: unknown command "start" (allowed: serve, inspect, dump, replay, top)'],
    [['--port', '1'], '--port: unknown flag for pkt-ingest without a command (allowed: -h, --help, -v, --version); it goes after a command'],
    [['--config', 'c.json', 'serve'], '--config: unknown flag for pkt-ingest without a command (allowed: -h, --help, -v, --version); it goes after a command'],
    [['--bogus'], '--bogus: unknown flag for pkt-ingest without a command (allowed: -h, --help, -v, --version)'],
  ])('rejects %j', (argv, message) => {
    expect(usageError(argv)).toBe(message);
  });

  it('does not take a prototype key for a command', () => {
    expect(usageError(['toString'])).toBe('unknown command "toString" (allowed: serve, inspect, dump, replay, top, help)');
  });
});
