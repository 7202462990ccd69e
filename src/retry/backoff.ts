/**
 * Retry delays (producer reconnects, forward reconnects, capture-file write
 * retries): exponential, capped, with "equal jitter" (half fixed, half
 * random) so that many producers restarted together do not reconnect in step,
 * while a delay never collapses to zero and hammers a down server.
 */
export interface BackoffOptions {
  /** Base delay of the first retry, ms. */
  minMs: number;
  /** No delay is ever longer than this, ms. */
  maxMs: number;
}

/** Delay before retry number `attempt` (1-based), in ms, within [base/2, base], base <= maxMs. */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  // 2 ** 31 already passes any sane maxMs; capping the exponent keeps it finite.
  const base = Math.min(options.maxMs, options.minMs * 2 ** Math.min(Math.max(attempt - 1, 0), 31));
  return Math.round(base / 2 + random() * (base / 2));
}
