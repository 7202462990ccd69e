/**
 * `pkt-ingest top`: polls /status once a second and shows it.
 *
 * On a terminal: the alternate screen, redrawn in place (cursor home,
 * each line cleared to its end), stdin in raw mode for `q`; the terminal
 * is restored on every way out (q, Ctrl-C, SIGTERM, an exception). When
 * stdout is not a terminal: one line per second, nothing else.
 *
 * ANSI by hand, in this file and top-render.ts (~200 lines): the view
 * needs home/clear/alternate-screen and raw keys only. The TUI packages
 * that fit (blessed: unmaintained since 2017; ink: React and ~30
 * dependencies) would outweigh the view itself.
 */
import type { StatusSnapshot } from '../http/status.js';
import { renderLine, renderScreen } from './top-render.js';
import type { TopCommand } from './tool-args.js';

const ENTER = '\x1b[?1049h\x1b[?25l';
const LEAVE = '\x1b[?25h\x1b[?1049l';
const HOME = '\x1b[H';
const CLEAR_EOL = '\x1b[K';
const CLEAR_BELOW = '\x1b[J';
const GIVE_UP_MS = 10_000;

async function fetchStatus(url: string): Promise<StatusSnapshot> {
  const res = await fetch(`${url}/status`, { signal: AbortSignal.timeout(2000) });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  return (await res.json()) as StatusSnapshot;
}

export async function runTop(cmd: TopCommand): Promise<number> {
  const out = process.stdout;
  const tty = out.isTTY === true;
  let quit: (code: number) => void = () => {};
  const finished = new Promise<number>((resolve) => (quit = resolve));

  const restore = (): void => {
    if (tty) out.write(LEAVE);
    if (process.stdin.isTTY) process.stdin.setRawMode(false);
  };
  const onKey = (data: Buffer): void => {
    if (data.includes(0x71) || data.includes(0x51) || data.includes(0x03)) quit(0); // q, Q, Ctrl-C
  };
  const onSignal = (): void => quit(0);
  if (process.stdin.isTTY) process.stdin.setRawMode(true);
  process.stdin.on('data', onKey);
  process.stdin.on('error', () => {}); // a closed stdin just means no keys
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.once('exit', restore);
  if (tty) out.write(ENTER);

  let failingSince: number | null = null;
  let lastError = '';
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;
  const tick = async (): Promise<void> => {
    try {
      const status = await fetchStatus(cmd.url);
      failingSince = null;
      if (stopped) return;
      if (tty) {
        const lines = renderScreen(status, cmd.url, out.columns || 80, out.rows || 24);
        out.write(`${HOME}${lines.join(`${CLEAR_EOL}\n`)}${CLEAR_EOL}${CLEAR_BELOW}`);
      } else out.write(`${renderLine(status)}\n`);
    } catch (err) {
      lastError = (err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message;
      failingSince ??= Date.now();
      const line = `cannot reach ${cmd.url}/status: ${lastError} (retrying)`;
      if (tty) out.write(`${HOME}${line}${CLEAR_EOL}\n${CLEAR_BELOW}`);
      else process.stderr.write(`${line}\n`);
      if (Date.now() - failingSince >= GIVE_UP_MS) quit(1);
    }
    if (!stopped) timer = setTimeout(() => void tick(), 1000);
  };
  void tick();
  const code = await finished;
  stopped = true;
  if (timer) clearTimeout(timer);
  process.stdin.off('data', onKey);
  process.stdin.destroy(); // no handle left open: the process can end
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  restore();
  process.off('exit', restore);
  if (code !== 0) process.stderr.write(`pkt-ingest: top: cannot reach ${cmd.url}/status for ${GIVE_UP_MS / 1000} s: ${lastError}\n`);
  return code;
}
