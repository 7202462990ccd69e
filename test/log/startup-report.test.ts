import { Writable } from 'node:stream';
import { resolve } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { isAllInterfaces, reportStartup } from '../../src/log/startup-report.js';
import { testConfig } from '../helpers/live-server.js';

/** A pino logger whose JSON lines land in `lines`. */
function capturingLogger(level = 'info') {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino({ level }, stream), lines };
}

const HANDLERS = [
  { type: 'capture', path: 'data/x.pkt', fsync: 'always' },
  { type: 'forward', name: 'relay', host: '10.0.0.7', port: 7400 },
  { type: 'module', name: 'enrich', path: 'examples/enrich-handler.mjs' },
  { type: 'log', name: 'debuglog', level: 'debug' },
];

describe('reportStartup', () => {
  it('names each handler and where it writes: capture path resolved and fsync mode, forward target, module path', () => {
    const { config } = testConfig({ handlers: HANDLERS });
    const { log, lines } = capturingLogger();
    reportStartup(log, { config, embeddedHandlers: null, tcpPort: 1, httpPort: 2 });
    expect(lines.map((l) => l.msg)).toEqual([
      `handler capture (capture): writes ${resolve('data/x.pkt')} (fsync always; rotates at 268435456 bytes, keeps 8 rotated files)`,
      'handler relay (forward): sends to 10.0.0.7:7400',
      `handler enrich (module): ${resolve('examples/enrich-handler.mjs')}`,
      'handler debuglog (log): one log line per packet, at debug',
    ]);
    expect(lines[0]).toMatchObject({ handler: 'capture', type: 'capture', path: resolve('data/x.pkt'), fsync: 'always', level: 30 });
    expect(lines[1]).toMatchObject({ handler: 'relay', target: '10.0.0.7:7400' });
  });

  it('says the fsync interval, and that no handlers means packets are counted and dropped', () => {
    const one = capturingLogger();
    reportStartup(one.log, { config: testConfig({ handlers: [{ type: 'capture', path: 'd/c.pkt' }] }).config, embeddedHandlers: null, tcpPort: 1, httpPort: 2 });
    expect(one.lines[0].msg).toContain('(fsync interval, every 1000 ms;');
    const none = capturingLogger();
    reportStartup(none.log, { config: testConfig({ handlers: [] }).config, embeddedHandlers: null, tcpPort: 1, httpPort: 2 });
    expect(none.lines.map((l) => l.msg)).toEqual(['no handlers: packets are validated and counted, then dropped']);
  });

  it('warns once per listener bound to every interface, saying how to bind privately', () => {
    const { config } = testConfig({ handlers: [], tcp: { host: '0.0.0.0' }, http: { host: '::' } });
    const { log, lines } = capturingLogger('warn'); // the warnings show even when info is off
    reportStartup(log, { config, embeddedHandlers: null, tcpPort: 7400, httpPort: 7401 });
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ level: 40, listener: 'tcp', host: '0.0.0.0', port: 7400 });
    expect(lines[0].msg).toBe(
      'tcp listener on 0.0.0.0:7400 accepts connections from every network interface; to bind privately set --host 127.0.0.1 (or PKT_INGEST_HOST, tcp.host)',
    );
    expect(lines[1]).toMatchObject({ level: 40, listener: 'http', host: '::', port: 7401 });
    expect(lines[1].msg).toContain('http listener on [::]:7401 accepts connections from every network interface; to bind privately set http.host "127.0.0.1"');
  });

  it('knows the spellings of every interface, and nothing else', () => {
    for (const h of ['0.0.0.0', '::', '::0', '0:0:0:0:0:0:0:0']) expect(isAllInterfaces(h), h).toBe(true);
    for (const h of ['127.0.0.1', '::1', 'localhost', '10.0.0.1']) expect(isAllInterfaces(h), h).toBe(false);
  });
});

describe('IngestServer start-up log', () => {
  it('reports the handlers, no warning for loopback listeners, then the listening line last', async () => {
    const { log, lines } = capturingLogger();
    const { config } = testConfig({ handlers: [] });
    const { IngestServer } = await import('../../src/server.js');
    const server = new IngestServer({ config, logger: log });
    const { tcpPort, httpPort } = await server.start();
    try {
      const msgs = lines.map((l) => l.msg);
      // The report ran (its handler line is there) and found no listener on every interface.
      expect(msgs).toContain('no handlers: packets are validated and counted, then dropped');
      expect(lines.filter((l) => l.level === 40)).toEqual([]);
      expect(lines.at(-1)).toMatchObject({ msg: 'listening', tcpPort, httpPort });
      // Fastify's line names the bind address instead of bare "Server listening at".
      expect(msgs).toContain(`http reachable at http://127.0.0.1:${httpPort} (http.host 127.0.0.1)`);
      expect(msgs.some((m) => String(m).startsWith('Server listening'))).toBe(false);
    } finally {
      await server.shutdown();
    }
  });
});
