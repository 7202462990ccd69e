/** What every benchmark suite exports, and how it reports a broken contender. */

export interface SuiteOptions {
  /** Tiny inputs, one repetition: a smoke test that still checks correctness. */
  readonly quick: boolean;
  /** Progress lines (stderr), so stdout carries only the report. */
  readonly log: (line: string) => void;
}

export interface SuiteReport {
  /** Markdown: headings, notes and tables. */
  readonly markdown: string;
  /** The same results for machines. */
  readonly json: unknown;
}

export type SuiteRun = (options: SuiteOptions) => Promise<SuiteReport>;

/** A contender gave a wrong answer: the suite stops, the run exits non-zero. */
export class BenchFailure extends Error {
  override readonly name = 'BenchFailure';
}
