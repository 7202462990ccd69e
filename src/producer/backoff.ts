/** The shared backoff helper lives in src/retry/backoff.ts; kept here so producer imports stay put. */
export { backoffDelay, type BackoffOptions } from '../retry/backoff.js';
