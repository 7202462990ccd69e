/**
 * Live progress for long work (load, replay, dump of big files, soak,
 * fuzz): one line on stderr, rewritten in place, only when stderr is a
 * terminal; nothing at all otherwise, so pipes and logs stay clean.
 *
 *   const progress = startProgress(() => `sent ${n} frames`);
 *   ... work ...
 *   progress.stop();   // clears the line; the caller prints its summary
 *
 * The line is rendered on a timer (not per item), so the work loop pays
 * nothing for it; the timer is unref'd and never keeps a process alive.
 */
export interface Progress {
  /** Whether a line is being shown (stderr is a terminal). */
  readonly active: boolean;
  /** Render now (e.g. before a pause the user should see). */
  refresh(): void;
  /** Clear the line and stop the timer. Idempotent. */
  stop(): void;
}

export interface ProgressOptions {
  intervalMs?: number;
  stream?: NodeJS.WriteStream;
  /** Force on or off; default: whether `stream` is a TTY. */
  enabled?: boolean;
}

const CLEAR_LINE = '\r\x1b[2K';
const INACTIVE: Progress = { active: false, refresh() {}, stop() {} };

export function startProgress(render: () => string, options: ProgressOptions = {}): Progress {
  const stream = options.stream ?? process.stderr;
  if (!(options.enabled ?? stream.isTTY === true)) return INACTIVE;
  const width = (): number => Math.max(20, (stream.columns || 80) - 1);
  let stopped = false;
  const refresh = (): void => {
    if (!stopped) stream.write(`${CLEAR_LINE}${render().slice(0, width())}`);
  };
  const timer = setInterval(refresh, options.intervalMs ?? 250);
  timer.unref();
  return {
    active: true,
    refresh,
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      stream.write(CLEAR_LINE);
    },
  };
}

/** 1234567 -> "1.23M", 512 -> "512"; for rates and counts in progress lines. */
export function si(n: number, digits = 2): string {
  const abs = Math.abs(n);
  if (abs >= 1e9) return `${(n / 1e9).toFixed(digits)}G`;
  if (abs >= 1e6) return `${(n / 1e6).toFixed(digits)}M`;
  if (abs >= 1e3) return `${(n / 1e3).toFixed(digits)}k`;
  return `${Math.round(n)}`;
}
