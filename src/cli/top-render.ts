/**
 * What `pkt-ingest top` shows, as plain strings: the full screen for a
 * terminal and the one summary line per second for pipes. Pure functions
 * of a /status snapshot; the loop in top.ts owns the terminal.
 */
import type { StatusSnapshot } from '../http/status.js';
import { si } from './progress.js';

const BARS = '▁▂▃▄▅▆▇█';

/** The last `width` values as a sparkline scaled to their own maximum. */
export function sparkline(values: readonly number[], width: number): string {
  const shown = values.slice(-width);
  const max = Math.max(0, ...shown);
  let s = '';
  for (const v of shown) s += max > 0 ? BARS[Math.min(BARS.length - 1, Math.floor((v / max) * (BARS.length - 1) + (v > 0 ? 0.5 : 0)))] : BARS[0];
  return s;
}

function seconds(s: number | null): string {
  if (s === null) return '-';
  if (s < 1e-3) return `${(s * 1e6).toFixed(0)} µs`;
  if (s < 1) return `${(s * 1e3).toFixed(1)} ms`;
  return `${s.toFixed(2)} s`;
}

function duration(s: number): string {
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
}

function nonZero(counts: Record<string, number>): string {
  const parts = Object.entries(counts).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`);
  return parts.length === 0 ? 'none' : parts.join('  ');
}

function stateText(state: Record<string, unknown> | null): string {
  if (state === null) return '-';
  return Object.entries(state).map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`).join(' ');
}

/** The screen: one string per line, each at most `cols` wide. */
export function renderScreen(s: StatusSnapshot, url: string, cols: number, rows: number, now = new Date()): string[] {
  const spark = Math.max(10, Math.min(60, cols - 40));
  const r = s.rates;
  const t = s.totals;
  const lines = [
    `pkt-ingest top  ${url}  up ${duration(s.uptimeSeconds)}  ${s.ready ? 'ready' : 'NOT READY'}  ${now.toISOString().slice(11, 19)}Z`,
    '',
    `packets/s ${si(r.packetsPerSecond).padStart(9)}  ${sparkline(s.history.packetsPerSecond, spark)}  total ${si(t.packets)}`,
    `bytes/s   ${(si(r.bytesPerSecond) + 'B').padStart(9)}  ${sparkline(s.history.bytesPerSecond, spark)}  total ${si(t.bytes)}B`,
    `          rates over the last ${r.windowSeconds} s; history: one bar per second`,
    '',
    `connections   ${t.connectionsActive} open  ${t.connectionsTotal} total  rejected: ${nonZero(s.connectionsRejected)}`,
    `frame errors  ${si(r.frameErrorsPerSecond)}/s  ${nonZero(s.frameErrors)}`,
    `handler errors ${t.handlerErrors}   backpressure pauses ${t.backpressurePauses}   ring bytes ${si(s.ringBytes)}B`,
    `lag           last ${seconds(s.lag.lastSeconds)}  max ${seconds(s.lag.maxSeconds)} (${s.lag.windowSeconds} s)`,
    `commit        ${s.commit === null ? 'n/a (no acknowledgements)' : `p50 ${seconds(s.commit.p50Seconds)}  p99 ${seconds(s.commit.p99Seconds)}  max ${seconds(s.commit.maxSeconds)}`}` +
      (s.acks === null ? '' : `   acks sent ${s.acks.sent}  ack-mode connections ${s.acks.connectionsAckMode}`),
    '',
    `${'HANDLER'.padEnd(16)}${'ERRORS'.padStart(8)}  HEALTHY  STATE`,
    ...s.handlers.map((h) => `${h.name.padEnd(16)}${String(h.errors).padStart(8)}  ${(h.healthy ? 'yes' : 'NO').padEnd(7)}  ${stateText(h.state)}`),
    '',
    `${'CONNECTION'.padEnd(28)}${'AGE'.padStart(8)}${'PACKETS'.padStart(12)}${'BYTES'.padStart(12)}${'RING'.padStart(6)}  PAUSED`,
  ];
  const room = Math.max(0, rows - lines.length - 2);
  for (const c of s.connections.slice(0, room)) {
    lines.push(
      `${`${c.remoteAddress}:${c.remotePort}`.padEnd(28)}${duration(c.ageSeconds).padStart(8)}${si(c.packets).padStart(12)}${(si(c.bytes) + 'B').padStart(12)}${`${Math.round(c.ringFill * 100)}%`.padStart(6)}  ${c.paused ? 'yes' : 'no'}`,
    );
  }
  const hidden = t.connectionsActive - Math.min(room, s.connections.length);
  if (hidden > 0) lines.push(`… ${hidden} more`);
  lines.push('', 'q quit');
  return lines.slice(0, rows).map((l) => (l.length > cols ? l.slice(0, cols) : l));
}

/** One line per second when stdout is not a terminal (logs, pipes). */
export function renderLine(s: StatusSnapshot, now = new Date()): string {
  const r = s.rates;
  const t = s.totals;
  return (
    `${now.toISOString()} packets/s=${r.packetsPerSecond.toFixed(1)} bytes/s=${r.bytesPerSecond.toFixed(0)} ` +
    `connections=${t.connectionsActive} frameErrors=${t.frameErrors} handlerErrors=${t.handlerErrors} ` +
    `pauses=${t.backpressurePauses} ringBytes=${s.ringBytes} lagMaxSeconds=${s.lag.maxSeconds ?? '-'}`
  );
}
