import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  CaptureError,
  ConfigError,
  EncodeError,
  ErrorCodes,
  ForwardError,
  HandlerModuleError,
  HandlerTimeoutError,
  PktError,
  RingError,
  StartupError,
  StateError,
  UsageError,
} from '../src/errors.js';
import { ProducerError } from '../src/producer/errors.js';
import { CapturePathLostError, ShortWriteError } from '../src/sinks/capture-file.js';
import { JetStreamConfigError } from '../src/sinks/jetstream-stream.js';

describe('error codes', () => {
  it('are unique and all spelled PKT_ERR_*', () => {
    const codes = Object.values(ErrorCodes);
    expect(new Set(codes).size).toBe(codes.length);
    for (const code of codes) expect(code).toMatch(/^PKT_ERR_[A-Z_]+$/);
  });

  it.each([
    [new ConfigError('x'), ErrorCodes.CONFIG, 'ConfigError'],
    [new UsageError('x'), ErrorCodes.USAGE, 'UsageError'],
    [new StartupError('x'), ErrorCodes.STARTUP, 'StartupError'],
    [new HandlerModuleError('x'), ErrorCodes.HANDLER_MODULE, 'HandlerModuleError'],
    [new EncodeError('x'), ErrorCodes.ENCODE, 'EncodeError'],
    [new RingError('x'), ErrorCodes.RING, 'RingError'],
    [new CaptureError('x'), ErrorCodes.CAPTURE, 'CaptureError'],
    [new ShortWriteError(1, 2), ErrorCodes.CAPTURE, 'ShortWriteError'],
    [new ForwardError('x'), ErrorCodes.FORWARD, 'ForwardError'],
    [new StateError('x'), ErrorCodes.STATE, 'StateError'],
    [new CapturePathLostError('/p', 'removed'), ErrorCodes.CAPTURE, 'CapturePathLostError'],
    [new JetStreamConfigError('x'), ErrorCodes.JETSTREAM, 'JetStreamConfigError'],
    [new HandlerTimeoutError('x'), ErrorCodes.HANDLER_TIMEOUT, 'HandlerTimeoutError'],
  ])('%s carries its stable code and class name', (err, code, name) => {
    expect(err).toBeInstanceOf(PktError);
    expect(err.code).toBe(code);
    expect(err.name).toBe(name);
  });

  it('gives the producer its own code', () => {
    const err = new ProducerError('connect_failed', 'x');
    expect(err).toBeInstanceOf(PktError);
    expect(err.code).toBe(ErrorCodes.PRODUCER);
  });
});

describe('docs/errors.md', () => {
  // Like fastify's FST_ERR_* test: code and document never drift. A code is one
  // line in ErrorCodes and one row in the table.
  const doc = fs.readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
  const rows = doc
    .split('\n')
    .map((line) => /^\|\s*`(PKT_ERR_[A-Z_]+)`\s*\|([^|]*)\|([^|]*)\|([^|]*)\|\s*$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null);

  it('lists every code in ErrorCodes, once, and no other', () => {
    const documented = rows.map((m) => m[1]);
    expect(new Set(documented).size, 'a code listed twice').toBe(documented.length);
    expect([...documented].sort()).toEqual([...Object.values(ErrorCodes)].sort());
  });

  it('says for each code which class throws it, when, and what to do', () => {
    for (const [, code, cls, when, todo] of rows) {
      expect(cls.trim(), `${code}: class`).not.toBe('');
      expect(when.trim().length, `${code}: when`).toBeGreaterThan(10);
      expect(todo.trim().length, `${code}: what to do`).toBeGreaterThan(5);
    }
  });

  it('names classes that exist and carry that code', () => {
    const classes: Record<string, PktError> = {
      ConfigError: new ConfigError('x'),
      UsageError: new UsageError('x'),
      StartupError: new StartupError('x'),
      HandlerModuleError: new HandlerModuleError('x'),
      EncodeError: new EncodeError('x'),
      RingError: new RingError('x'),
      ProducerError: new ProducerError('closed', 'x'),
      CaptureError: new CaptureError('x'),
      ShortWriteError: new ShortWriteError(1, 2),
      ForwardError: new ForwardError('x'),
      StateError: new StateError('x'),
      CapturePathLostError: new CapturePathLostError('/p', 'moved'),
      JetStreamConfigError: new JetStreamConfigError('x'),
      HandlerTimeoutError: new HandlerTimeoutError('x'),
    };
    for (const [, code, cell] of rows) {
      for (const name of cell.match(/[A-Z][A-Za-z]+Error/g) ?? []) {
        expect(classes[name], `${name} (listed for ${code}) is checked here`).toBeDefined();
        expect(classes[name].code, `${name}`).toBe(code);
        expect(classes[name].name).toBe(name);
      }
    }
  });
});
