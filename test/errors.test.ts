import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  EncodeError,
  ErrorCodes,
  HandlerModuleError,
  PktError,
  RingError,
  StartupError,
  UsageError,
} from '../src/errors.js';
import { ProducerError } from '../src/producer/errors.js';

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
