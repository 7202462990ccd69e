import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createLogHandler } from '../../src/handlers/log-handler.js';
import type { LogLevel } from '../../src/config/schema.js';
import { Driver, connectionInfo, frame } from './drive.js';

function capture(baseLevel: LogLevel) {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: baseLevel }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { lines, log };
}

describe('log handler', () => {
  it('writes one line per packet with its fields, at the configured level', async () => {
    const { lines, log } = capture('info');
    const h = createLogHandler({ level: 'warn' }, { name: 'log', log: log.child({ handler: 'log' }), reportError: () => {}, commit: () => {}, failCommit: () => {} });
    const driver = new Driver(h, connectionInfo(7));
    const first = frame(0, { flags: 0x05, timestamp: 1_700_000_000_000_001 });
    await driver.read(Buffer.concat([first, frame(1)]));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      level: 40,
      handler: 'log',
      msg: 'packet',
      connection: 7,
      offset: 0,
      sourceId: 'src-0',
      destId: 'dst',
      flags: 5,
      timestamp: 1_700_000_000_000_001,
      payloadLength: 1,
    });
    expect(lines[1]).toMatchObject({ offset: first.length, sourceId: 'src-1', payloadLength: 38 });
  });

  it('is a no-op when its level is filtered out, or silent', async () => {
    for (const level of ['debug', 'silent'] as const) {
      const { lines, log } = capture('info');
      const h = createLogHandler({ level }, { name: 'log', log, reportError: () => {}, commit: () => {}, failCommit: () => {} });
      await new Driver(h, connectionInfo(1)).read(frame(0));
      expect(lines).toHaveLength(0);
    }
  });
});
