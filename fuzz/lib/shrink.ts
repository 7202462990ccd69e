/**
 * A failing case made small, then written to os.tmpdir(): the bytes in a
 * `.bin`, how they were fed (and what went wrong) in a `.json` that
 * `npm run fuzz -- --replay FILE.json` runs again.
 *
 * Shrinking keeps a change only if the same kind of finding remains: first
 * the feeding is simplified (no holds, one chunk), then the stream is cut
 * to its shortest failing prefix, then byte ranges are deleted, halves
 * first, down to single bytes (greedy ddmin), within a time budget.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { describeCase, type FuzzCase } from './case.js';
import type { CaseResult, Finding, FindingKind } from './reader-driver.js';

export type Runner = (c: FuzzCase) => Promise<CaseResult>;

export async function shrink(c: FuzzCase, kind: FindingKind, run: Runner, budgetMs = 10_000): Promise<FuzzCase> {
  const deadline = performance.now() + budgetMs;
  const fails = async (candidate: FuzzCase): Promise<boolean> => (await run(candidate)).finding?.kind === kind;
  let best = c;
  for (const simpler of [{ holdRate: 0 }, { cuts: [Math.max(1, c.bytes.length)] }, { mode: 'write' as const }]) {
    const candidate = { ...best, ...simpler };
    if (await fails(candidate)) best = candidate;
  }
  // The shortest failing prefix, by bisection (assumes failing is monotone in the length: a good first cut).
  const oneChunk = (c2: FuzzCase, bytes: Buffer): number[] =>
    c2.cuts.length === 1 && c2.cuts[0] >= c2.bytes.length ? [Math.max(1, bytes.length)] : c2.cuts;
  for (let lo = 0, hi = best.bytes.length; lo < hi && performance.now() < deadline; ) {
    const mid = (lo + hi) >>> 1;
    const bytes = best.bytes.subarray(0, mid);
    const candidate = { ...best, bytes, cuts: oneChunk(best, bytes) };
    if (await fails(candidate)) {
      best = candidate;
      hi = mid;
    } else lo = mid + 1;
  }
  let chunk = Math.max(1, best.bytes.length >>> 1);
  while (chunk >= 1 && performance.now() < deadline) {
    let removed = false;
    for (let i = 0; i < best.bytes.length && performance.now() < deadline; ) {
      const bytes = Buffer.concat([best.bytes.subarray(0, i), best.bytes.subarray(i + chunk)]);
      const candidate = { ...best, bytes, cuts: oneChunk(best, bytes) };
      if (await fails(candidate)) {
        best = candidate;
        removed = true;
      } else i += chunk;
    }
    if (!removed) {
      if (chunk === 1) break;
      chunk >>>= 1;
    }
  }
  return best;
}

export interface SavedCase {
  bin: string;
  json: string;
}

/** Writes the case's bytes and description to os.tmpdir(); returns both paths. */
export function saveCase(c: FuzzCase, meta: { runSeed: number; index: number; finding: Finding; target: string; server?: unknown }): SavedCase {
  const base = path.join(os.tmpdir(), `pkt-fuzz-${meta.runSeed}-${meta.index}${meta.target === 'live' ? '-live' : ''}`);
  const bin = `${base}.bin`;
  const json = `${base}.json`;
  fs.writeFileSync(bin, c.bytes);
  const description = { ...meta, bin, case: describeCase(c) };
  fs.writeFileSync(json, `${JSON.stringify(description, null, 2)}\n`);
  return { bin, json };
}

/** Reads a case written by saveCase. */
export function loadCase(json: string): { c: FuzzCase; target: string; server?: unknown } {
  const meta = JSON.parse(fs.readFileSync(json, 'utf8')) as { bin: string; target: string; server?: unknown; case: Omit<FuzzCase, 'bytes'> };
  const bytes = fs.readFileSync(meta.bin);
  return { c: { ...meta.case, bytes }, target: meta.target, server: meta.server };
}
