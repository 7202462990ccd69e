/**
 * The PROXY protocol fuzz target in CI: its reference judge agrees with the
 * spec's examples, then a short seeded run (about 1 s) ends with no findings
 * and reaches every outcome class; a sample also goes through a live server.
 * Longer: `npm run fuzz -- --target proxy --seconds N`.
 */
import { describe, expect, it } from 'vitest';
import { judgeProxy } from '../../fuzz/lib/proxy-model.js';
import { makeProxyCase, runProxyCase, runProxyFuzz } from '../../fuzz/lib/proxy-fuzz.js';
import { runProxyLive } from '../../fuzz/lib/proxy-live.js';

describe('the PROXY reference judge', () => {
  it('decodes the spec example and refuses what the spec refuses', () => {
    const line = Buffer.from('PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET / HTTP/1.1\r\n');
    expect(judgeProxy(line, 'any', 4112)).toEqual({
      status: 'done', headerLength: 47, kind: 'proxy', family: 'IPv4',
      source: '192.168.0.1', sourcePort: 56324, destination: '192.168.0.11', destinationPort: 443,
    });
    expect(judgeProxy(line.subarray(0, 20), 'any', 4112)).toEqual({ status: 'more' });
    expect(judgeProxy(Buffer.from('PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\n'), 'any', 4112)).toEqual({ status: 'error', reason: 'bad_syntax' });
    expect(judgeProxy(line, 'v2', 4112)).toEqual({ status: 'error', reason: 'bad_signature' });
  });
});

describe('PROXY fuzz target', () => {
  it('replays a case identically from its seed and index', () => {
    expect(makeProxyCase(7, 123)).toEqual(makeProxyCase(7, 123));
    expect(runProxyCase(makeProxyCase(7, 123))).toBeNull();
  });

  it('runs a seeded 1 s budget with no findings, reaching every outcome', () => {
    const report = runProxyFuzz({ seed: 20261202, seconds: 1 });
    expect(report.findings).toEqual([]);
    expect(report.inputs).toBeGreaterThan(1000);
    for (const outcome of ['done_proxy', 'done_local', 'done_unknown', 'bad_signature', 'bad_syntax', 'bad_address', 'too_long', 'bad_family', 'bad_version']) {
      expect(report.outcomes[outcome], outcome).toBeGreaterThan(0);
    }
  });

  it('agrees with the live server (accept pipeline) on 80 seeded cases: address, frame, or a proxy_protocol rejection', async () => {
    const live = await runProxyLive({ seed: 20261203, every: 13, count: 80 });
    expect(live.findings).toEqual([]);
    expect(live.inputs).toBe(80);
    // The sample covers admitted and refused connections both.
    const cases = Array.from({ length: 80 }, (_, i) => makeProxyCase(20261203, i * 13));
    const verdicts = new Set(cases.map((c) => judgeProxy(c.bytes, c.mode, 4112).status));
    expect([...verdicts]).toEqual(expect.arrayContaining(['done', 'error']));
  }, 30_000);
});
