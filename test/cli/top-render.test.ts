import { describe, expect, it } from 'vitest';
import { renderLine, renderScreen, sparkline } from '../../src/cli/top-render.js';
import type { StatusSnapshot } from '../../src/http/status.js';

const status: StatusSnapshot = {
  uptimeSeconds: 3725,
  ready: true,
  totals: { packets: 1_500_000, bytes: 159_000_000, frameErrors: 2, connectionsTotal: 9, connectionsActive: 2, backpressurePauses: 4, handlerErrors: 1 },
  rates: { windowSeconds: 10, packetsPerSecond: 20_000, bytesPerSecond: 2_120_000, frameErrorsPerSecond: 0.1 },
  history: { intervalSeconds: 1, packetsPerSecond: [0, 10_000, 20_000], bytesPerSecond: [0, 1_060_000, 2_120_000] },
  frameErrors: { bad_magic: 0, unsupported_version: 0, bad_header_len: 0, frame_too_large: 0, unterminated_string: 0, invalid_utf8: 0, bad_extension: 0, crc_mismatch: 2, truncated: 0 },
  connectionsRejected: { max_connections: 1, draining: 0, per_address_limit: 0, not_allowed: 0, tls_handshake: 0, proxy_protocol: 0, fd_limit: 0 },
  ringBytes: 4096,
  lag: { lastSeconds: 0.0021, maxSeconds: 0.5, windowSeconds: 10 },
  commit: null,
  acks: null,
  handlers: [
    { name: 'capture', errors: 0, healthy: true, state: null },
    { name: 'fwd', errors: 1, healthy: false, state: { target: '10.0.0.7:7400', connected: false, queuedBytes: 512 } },
  ],
  connections: [{ id: 1, remoteAddress: '127.0.0.1', remotePort: 5000, ageSeconds: 61, packets: 1000, bytes: 106_000, ringFill: 0.25, paused: false }],
  connectionsShown: 1,
  connectionsTruncated: false,
};

describe('top rendering', () => {
  it('sparkline: scaled to the maximum, one bar per value, the last `width` values', () => {
    expect(sparkline([0, 1, 2, 4, 8], 5)).toBe('▁▂▃▅█');
    expect(sparkline([0, 0, 0], 10)).toBe('▁▁▁');
    expect(sparkline([1, 2, 3, 4], 2)).toBe('▆█');
  });

  it('the screen shows rates, totals, errors by reason, handlers with state, lag, connections', () => {
    const lines = renderScreen(status, 'http://h:7401', 120, 40, new Date('2026-01-01T12:00:00Z'));
    const text = lines.join('\n');
    expect(lines[0]).toBe('pkt-ingest top  http://h:7401  up 1h02m  ready  12:00:00Z');
    expect(text).toMatch(/^packets\/s +20\.00k {2}▁▅█ {2}total 1\.50M$/m);
    expect(text).toMatch(/^bytes\/s +2\.12MB {2}▁▅█ {2}total 159\.00MB$/m);
    expect(text).toContain('connections   2 open  9 total  rejected: max_connections 1');
    expect(text).toContain('frame errors  0/s  crc_mismatch 2');
    expect(text).toContain('handler errors 1   backpressure pauses 4   ring bytes 4.10kB');
    expect(text).toContain('lag           last 2.1 ms  max 500.0 ms (10 s)');
    expect(text).toContain('commit        n/a (no acknowledgements)');
    expect(text).toMatch(/^fwd +1 {2}NO {7}target=10\.0\.0\.7:7400 connected=false queuedBytes=512$/m);
    expect(text).toMatch(/^127\.0\.0\.1:5000 +1m01s +1\.00k +106\.00kB +25% {2}no$/m);
    expect(lines.every((l) => l.length <= 120)).toBe(true);
    expect(renderScreen(status, 'u', 30, 5)).toHaveLength(5);
  });

  it('one line per second off a terminal', () => {
    expect(renderLine(status, new Date('2026-01-01T12:00:00Z'))).toBe(
      '2026-01-01T12:00:00.000Z packets/s=20000.0 bytes/s=2120000 connections=2 frameErrors=2 handlerErrors=1 pauses=4 ringBytes=4096 lagMaxSeconds=0.5',
    );
  });
});
