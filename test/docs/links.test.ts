/**
 * Nothing a reader follows points to a file that is not there: every
 * relative Markdown link in the docs resolves, and no file a person reads
 * (docs, config, source comments and help texts, tools, examples) names a
 * document outside the repository (the wire format lives in docs/protocol.md).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const list = (dir: string, ext: RegExp) =>
  fs.readdirSync(path.join(ROOT, dir)).filter((f) => ext.test(f)).map((f) => path.join(dir, f));
const DOCS = ['README.md', 'OPERATIONS.md', 'BENCHMARKS.md', ...list('docs', /\.md$/), ...list('examples', /\.md$/)];
/** Every file under `dir` (recursively) whose name matches `ext`. */
const tree = (dir: string, ext: RegExp): string[] =>
  fs
    .readdirSync(path.join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => ext.test(f))
    .map((f) => path.join(dir, f));
const CODE = /\.(ts|mjs|js|py)$/;
const USER_FACING = [
  ...DOCS,
  ...list('config', /\.(json|ya?ml)$/),
  'docs/test-vectors.json',
  ...['src', 'load', 'bench', 'examples'].flatMap((dir) => tree(dir, CODE)),
];

/** Relative link targets in `text` (a file at `doc`) that do not exist. */
function brokenLinks(doc: string, text: string): string[] {
  const targets = [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]).filter((t) => !/^[a-z]+:|^#/.test(t));
  return targets.filter((t) => !fs.existsSync(path.resolve(ROOT, path.dirname(doc), t.split('#')[0])));
}

describe('documentation links', () => {
  it.each(DOCS)('%s: every relative link resolves to a file in the repository', (doc) => {
    expect(brokenLinks(doc, fs.readFileSync(path.join(ROOT, doc), 'utf8'))).toEqual([]);
  });

  it('finds a broken link when there is one (the check is live)', () => {
    const text = '[ok](protocol.md#the-frame) [gone](../WIRE.md) [web](https://example.org/x.md) [here](#top)';
    expect(brokenLinks('docs/x.md', text)).toEqual(['../WIRE.md']);
  });

  it('no user-facing file names WIRE.md, CONTRACT.md or DESIGN-COMMIT.md (files outside the repository)', () => {
    expect(USER_FACING.length).toBeGreaterThan(100); // the source tree was found
    const offenders = USER_FACING.filter((file) => /\b(WIRE|CONTRACT|DESIGN-COMMIT)\.md\b/.test(fs.readFileSync(path.join(ROOT, file), 'utf8')));
    expect(offenders).toEqual([]);
  });
});
