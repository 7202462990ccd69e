/**
 * Which metrics do the dashboard and the alerts read? A small PromQL
 * tokenizer, not a parser: enough to list the metric names an expression
 * selects, so a test can compare them with the names the server exports.
 *
 * Skipped: strings, label matchers `{...}` (except `__name__="x"`), ranges
 * and subqueries `[...]`, grouping lists after by/without/on/ignoring/
 * group_left/group_right, numbers and durations, keywords and aggregation
 * operators, function calls (an identifier followed by `(`), comments, and
 * Grafana variables (`$var`, `${var}`, `$__rate_interval`).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Followed by a parenthesised label list, which is skipped with them. */
const GROUPING = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
/** Case-insensitive in PromQL; `start`/`end` are the `@` modifiers. */
const KEYWORDS = new Set(['bool', 'and', 'or', 'unless', 'offset', 'atan2', 'inf', 'nan', 'start', 'end']);
/** May be followed by `by (...)` rather than `(`, so not caught as calls. */
const AGGREGATIONS = new Set([
  'sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values',
  'bottomk', 'topk', 'quantile', 'limitk', 'limit_ratio',
]);

const isIdentStart = (c: string): boolean => /[A-Za-z_:]/.test(c);
const isIdentChar = (c: string): boolean => /[A-Za-z0-9_:]/.test(c);

/** Index just past the string literal opening at `start`. */
function skipString(expr: string, start: number): number {
  const quote = expr[start];
  let i = start + 1;
  while (i < expr.length && expr[i] !== quote) i += quote !== '`' && expr[i] === '\\' ? 2 : 1;
  return i + 1;
}

/** Index of the bracket closing the one at `start`, strings and nesting respected. */
function closingBracket(expr: string, start: number): number {
  const open = expr[start];
  const close = ({ '(': ')', '[': ']', '{': '}' } as Record<string, string>)[open];
  let depth = 0;
  let i = start;
  while (i < expr.length) {
    const c = expr[i];
    if (c === '"' || c === "'" || c === '`') {
      i = skipString(expr, i);
      continue;
    }
    if (c === open) depth++;
    else if (c === close && --depth === 0) return i;
    i++;
  }
  return expr.length;
}

function nextNonSpace(expr: string, from: number): number {
  let i = from;
  while (i < expr.length && /\s/.test(expr[i])) i++;
  return i;
}

/** `{__name__="x"}` selects metric x; regex and negative matchers name none. */
function namesInMatchers(matchers: string): string[] {
  return [...matchers.matchAll(/__name__\s*=\s*(["'`])([^"'`]*)\1/g)].map((m) => m[2]);
}

/** The metric names `expr` selects, each once, in order of appearance. */
export function metricNamesInPromQL(expr: string): string[] {
  const names: string[] = [];
  let i = 0;
  while (i < expr.length) {
    const c = expr[i];
    if (c === '"' || c === "'" || c === '`') {
      i = skipString(expr, i);
    } else if (c === '#') {
      while (i < expr.length && expr[i] !== '\n') i++;
    } else if (c === '{') {
      const end = closingBracket(expr, i);
      names.push(...namesInMatchers(expr.slice(i + 1, end)));
      i = end + 1;
    } else if (c === '[') {
      i = closingBracket(expr, i) + 1;
    } else if (c === '$') {
      i++;
      if (expr[i] === '{') i = closingBracket(expr, i) + 1;
      else while (i < expr.length && isIdentChar(expr[i])) i++;
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(expr[i + 1] ?? ''))) {
      // Numbers, hex, durations (5m, 1h30m): one run of word characters.
      while (i < expr.length && /[\w.]/.test(expr[i])) i++;
    } else if (isIdentStart(c)) {
      let end = i;
      while (end < expr.length && isIdentChar(expr[end])) end++;
      const word = expr.slice(i, end);
      const lower = word.toLowerCase();
      const next = nextNonSpace(expr, end);
      i = end;
      if (GROUPING.has(lower)) {
        if (expr[next] === '(') i = closingBracket(expr, next) + 1;
      } else if (!KEYWORDS.has(lower) && !AGGREGATIONS.has(lower) && expr[next] !== '(') {
        names.push(word);
      }
    } else {
      i++;
    }
  }
  return [...new Set(names)];
}

export interface PromQLExpression {
  /** The file, relative to the repository root. */
  file: string;
  /** Where in the file: the panel and target, or the rule. */
  where: string;
  expr: string;
}

interface GrafanaTarget {
  refId?: string;
  expr?: string;
}
interface GrafanaPanel {
  id?: number;
  title?: string;
  targets?: GrafanaTarget[];
  panels?: GrafanaPanel[];
}

export const DASHBOARD_FILE = 'config/grafana-dashboard.json';
export const ALERTS_FILE = 'config/alerts.yml';

/** Every panel target's expr in the dashboard (rows' nested panels included). */
export function dashboardExpressions(root = REPO_ROOT): PromQLExpression[] {
  const dashboard = JSON.parse(readFileSync(root + DASHBOARD_FILE, 'utf8')) as { panels?: GrafanaPanel[] };
  const out: PromQLExpression[] = [];
  const walk = (panels: GrafanaPanel[] = []): void => {
    for (const panel of panels) {
      for (const target of panel.targets ?? []) {
        if (target.expr === undefined) continue;
        out.push({ file: DASHBOARD_FILE, where: `panel ${panel.id} "${panel.title}" target ${target.refId}`, expr: target.expr });
      }
      walk(panel.panels);
    }
  };
  walk(dashboard.panels);
  return out;
}

/** Every rule's expr in the alerting rules file. */
export function alertExpressions(root = REPO_ROOT): PromQLExpression[] {
  const doc = parse(readFileSync(root + ALERTS_FILE, 'utf8')) as {
    groups: { name: string; rules: { alert?: string; record?: string; expr: string }[] }[];
  };
  return doc.groups.flatMap((group) =>
    group.rules.map((rule) => ({
      file: ALERTS_FILE,
      where: `group ${group.name} ${rule.alert ? `alert ${rule.alert}` : `record ${rule.record}`}`,
      expr: String(rule.expr),
    })),
  );
}

/** Every PromQL expression in the dashboard and the alerting rules. */
export function collectExpressions(root = REPO_ROOT): PromQLExpression[] {
  return [...dashboardExpressions(root), ...alertExpressions(root)];
}

/** Every alert in config/alerts.yml, in file order. */
export const ALERTS = [
  'PktIngestDown',
  'PktIngestNotReady',
  'PktIngestNoPackets',
  'PktIngestFrameErrorRate',
  'PktIngestBackpressureSustained',
  'PktIngestLagP99High',
  'PktIngestConnectionsNearLimit',
  'PktIngestCommitP99High',
] as const;
