/**
 * The last commit-latency samples (ack mode), for /status and `top`, which
 * cannot read a prom-client histogram synchronously. A fixed ring of
 * numbers: recording allocates nothing; a summary sorts a copy (on
 * request, never on the ingest path). Owned by IngestStats; fed by the
 * registry's observeCommit with what pkt_ingest_commit_seconds observes.
 */

/** Samples kept: the newest win. */
export const COMMIT_WINDOW_SAMPLES = 1024;

export interface CommitSummary {
  p50Seconds: number;
  p99Seconds: number;
  maxSeconds: number;
}

export class CommitWindow {
  private readonly samples = new Float64Array(COMMIT_WINDOW_SAMPLES);
  private next = 0;
  private count = 0;

  record(seconds: number): void {
    this.samples[this.next] = seconds;
    this.next = (this.next + 1) % COMMIT_WINDOW_SAMPLES;
    if (this.count < COMMIT_WINDOW_SAMPLES) this.count++;
  }

  /** Percentiles (nearest rank) over the kept samples; null before the first. */
  summary(): CommitSummary | null {
    if (this.count === 0) return null;
    const sorted = this.samples.slice(0, this.count).sort();
    const rank = (p: number): number => sorted[Math.min(this.count - 1, Math.ceil(p * this.count) - 1)];
    return { p50Seconds: rank(0.5), p99Seconds: rank(0.99), maxSeconds: sorted[this.count - 1] };
  }
}
