import { describe, expect, it } from 'vitest';
import { COMMIT_WINDOW_SAMPLES, CommitWindow } from '../../src/metrics/commit-window.js';

describe('CommitWindow', () => {
  it('is null before the first sample', () => {
    expect(new CommitWindow().summary()).toBeNull();
  });

  it('gives nearest-rank percentiles and the maximum', () => {
    const w = new CommitWindow();
    for (const s of [0.004, 0.001, 0.003, 0.002]) w.record(s);
    expect(w.summary()).toEqual({ p50Seconds: 0.002, p99Seconds: 0.004, maxSeconds: 0.004 });
  });

  it('keeps only the newest samples', () => {
    const w = new CommitWindow();
    w.record(100); // pushed out by the next COMMIT_WINDOW_SAMPLES
    for (let i = 0; i < COMMIT_WINDOW_SAMPLES; i++) w.record(0.001);
    expect(w.summary()?.maxSeconds).toBe(0.001);
  });
});
