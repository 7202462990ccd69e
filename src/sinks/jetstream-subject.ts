/**
 * Subjects for the jetstream handler: the `subject` template with
 * `{source}` and `{dest}`, the rule that turns an id into one subject token,
 * and the check that a stream's subjects cover what we publish.
 *
 *   "pkt.{source}.{dest}"  -> parts ["pkt.", SOURCE, ".", DEST]
 *   id "gw.1 *"            -> token "gw_1__"   ('.', '*', '>', whitespace -> '_')
 *   id ""                  -> token "_"
 *
 * Stateless: the handler caches the last subject per connection (producers
 * repeat their ids), so the template is expanded once per id change, not
 * per packet.
 */

const SOURCE = 0;
const DEST = 1;
type Part = string | typeof SOURCE | typeof DEST;

/** Characters that cannot appear inside a NATS subject token. */
const UNSAFE = /[.*>\s]/gu;

/** An id as one subject token (docs/jetstream.md, Subjects): `.`, `*`, `>` and whitespace become `_`; empty becomes `_`. */
export function subjectToken(id: string): string {
  return id === '' ? '_' : id.replace(UNSAFE, '_');
}

export class SubjectTemplate {
  readonly template: string;
  /** No placeholder: every frame goes to `template`. */
  readonly fixed: boolean;
  readonly usesSource: boolean;
  readonly usesDest: boolean;
  private readonly parts: Part[];

  constructor(template: string) {
    this.template = template;
    this.parts = [];
    for (const piece of template.split(/(\{source\}|\{dest\})/u)) {
      if (piece === '{source}') this.parts.push(SOURCE);
      else if (piece === '{dest}') this.parts.push(DEST);
      else if (piece !== '') this.parts.push(piece);
    }
    this.usesSource = this.parts.includes(SOURCE);
    this.usesDest = this.parts.includes(DEST);
    this.fixed = !this.usesSource && !this.usesDest;
  }

  expand(sourceId: string, destId: string): string {
    if (this.fixed) return this.template;
    let out = '';
    for (const part of this.parts) {
      out += part === SOURCE ? subjectToken(sourceId) : part === DEST ? subjectToken(destId) : part;
    }
    return out;
  }

  /** The template with each placeholder as `*`: the set of subjects it can produce. */
  get pattern(): string {
    return this.parts.map((p) => (typeof p === 'string' ? p : '*')).join('');
  }
}

/**
 * Why `template` is not a usable subject template, or null. A placeholder
 * must be a whole token (`a.{source}.b`, not `a{source}`), so the tokens
 * published always match the stream's `*` patterns; no wildcards, no empty
 * tokens, no whitespace.
 */
export function subjectTemplateProblem(template: string): string | null {
  if (/\s/u.test(template)) return 'contains whitespace';
  const tokens = template.split('.');
  for (const token of tokens) {
    if (token === '') return 'has an empty token (a leading, trailing or doubled ".")';
    if (token === '*' || token === '>' || token.includes('*') || token.includes('>')) return 'contains a wildcard ("*" or ">"); publish subjects must be literal';
    const stripped = token.replace(/\{source\}|\{dest\}/gu, '');
    if (stripped.includes('{') || stripped.includes('}')) return 'has a "{" or "}" that is not {source} or {dest}';
    if (stripped !== '' && stripped.length !== token.length) return `token "${token}" mixes a placeholder with text; a placeholder must be a whole token`;
    if (token.length !== stripped.length && token !== '{source}' && token !== '{dest}') return `token "${token}" holds two placeholders; use one per token`;
  }
  return null;
}

/** Why `name` is not a JetStream stream name, or null (no whitespace, `.`, `*`, `>`, path separators). */
export function streamNameProblem(name: string): string | null {
  return /[\s.*>/\\]/u.test(name) ? 'contains whitespace or one of . * > / \\ (not allowed in a stream name)' : null;
}

/**
 * True if every subject matching `pattern` (tokens, `*` for any one) also
 * matches the stream subject `filter` (which may use `*` and a final `>`).
 */
export function subjectCovers(filter: string, pattern: string): boolean {
  const f = filter.split('.');
  const p = pattern.split('.');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '>') return i < p.length; // '>' needs at least one more token
    if (i >= p.length) return false;
    if (f[i] === '*') continue;
    if (p[i] === '*' || p[i] !== f[i]) return false;
  }
  return f.length === p.length;
}

/** True if one of the stream's subjects covers every subject the template can produce. */
export function streamCovers(streamSubjects: readonly string[], template: SubjectTemplate): boolean {
  const pattern = template.pattern;
  return streamSubjects.some((s) => subjectCovers(s, pattern));
}
