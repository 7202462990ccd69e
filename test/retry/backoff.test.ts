/** The one backoff helper (src/retry/backoff.ts) the producer, the forwarder and the capture writer share. */
import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../src/retry/backoff.js';

describe('backoffDelay', () => {
  it('grows exponentially, stays within [base/2, base] and never passes maxMs', () => {
    const options = { minMs: 100, maxMs: 1000 };
    expect(backoffDelay(1, options, () => 0)).toBe(50);
    expect(backoffDelay(1, options, () => 1)).toBe(100);
    expect(backoffDelay(3, options, () => 1)).toBe(400);
    expect(backoffDelay(4, options, () => 0.5)).toBe(600);
    for (const attempt of [5, 10, 100, 10_000]) {
      expect(backoffDelay(attempt, options, () => 1)).toBe(1000);
      expect(backoffDelay(attempt, options, () => 0)).toBe(500);
    }
  });
});
