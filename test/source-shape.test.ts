/**
 * Shape rules as checks (../shared/STYLE.md: one idea per file): no file in
 * src/ over 300 lines, the connection glue well under that, and no import
 * cycle in src/ (type-only imports included: a cycle of types is still a
 * tangle of ideas, and it becomes a runtime cycle with the first value).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve(import.meta.dirname, '../src');
const MAX_LINES = 300;
const CONNECTION_MAX_LINES = 250;

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sourceFiles(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

const lineCount = (file: string): number => fs.readFileSync(file, 'utf8').split('\n').length - 1;

/** Relative imports and re-exports of `file`, resolved to .ts paths. */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const found: string[] = [];
  for (const m of text.matchAll(/^(?:import|export)\b[^;]*?from\s+'(\.{1,2}\/[^']+)'/gms)) {
    found.push(path.resolve(path.dirname(file), m[1]!.replace(/\.js$/, '.ts')));
  }
  return found;
}

/** One cycle per strongly connected tangle, as a path a -> b -> ... -> a (empty: none). */
function findCycles(graph: Map<string, string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): void => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
  return cycles;
}

describe('source shape', () => {
  const files = sourceFiles(SRC);

  it(`has no file in src/ over ${MAX_LINES} lines`, () => {
    expect(files.length).toBeGreaterThan(50);
    const over = files.filter((f) => lineCount(f) > MAX_LINES).map((f) => `${path.relative(SRC, f)}: ${lineCount(f)}`);
    expect(over).toEqual([]);
  });

  it(`keeps socket/connection.ts under ${CONNECTION_MAX_LINES} lines`, () => {
    expect(lineCount(path.join(SRC, 'socket/connection.ts'))).toBeLessThan(CONNECTION_MAX_LINES);
  });

  it('finds a cycle when there is one (the checker works)', () => {
    const g = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a']],
      ['d', ['a']],
    ]);
    expect(findCycles(g)).toEqual([['a', 'b', 'c', 'a']]);
    expect(findCycles(new Map([['a', ['b']], ['b', []]]))).toEqual([]);
  });

  it('has no import cycle in src/', () => {
    const graph = new Map(files.map((f) => [f, importsOf(f)]));
    const edges = [...graph.values()].reduce((n, list) => n + list.length, 0);
    expect(edges).toBeGreaterThan(files.length); // the parser found the imports
    const cycles = findCycles(graph).map((c) => c.map((f) => path.relative(SRC, f)).join(' -> '));
    expect(cycles).toEqual([]);
  });
});
