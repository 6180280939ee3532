/**
 * Paths into a submission: `a.b[0].c`, `["key with spaces"]`, `[-1]` (from the
 * end) and filters `answers[question_id=dob]`. Parsed once at load time into
 * segments; never evaluated as code.
 */

/** One step of a path. */
export type Segment =
  | { kind: 'key'; key: string }
  | { kind: 'index'; index: number }
  | { kind: 'filter'; key: string; value: string };

/** Variables a path may start with inside a repeating group. */
export type PathRoot = 'submission' | '$item' | '$index' | '$position' | '$parent' | '$outer';

/** A parsed path: where it starts and the steps from there. */
export interface ParsedPath {
  root: PathRoot;
  segments: Segment[];
  text: string;
}

/** A path that could not be parsed; `offset` is the 0-based character where it went wrong. */
export class PathSyntaxError extends Error {
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(message);
    this.name = 'PathSyntaxError';
    this.offset = offset;
  }
}

/** Segment names no path may read or write. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

const IDENT = /[A-Za-z0-9_$\-:@#]/;
const ROOTS = new Set(['$item', '$index', '$position', '$parent', '$outer']);

/**
 * Parses a path. Throws `PathSyntaxError` for malformed paths and for any
 * segment named `__proto__`, `constructor` or `prototype`.
 */
export function parsePath(text: string): ParsedPath {
  const segments: Segment[] = [];
  let i = 0;
  const n = text.length;
  if (n === 0) throw new PathSyntaxError('empty path', 0);
  let expectKey = true;
  while (i < n) {
    const c = text[i]!;
    if (c === '.') {
      if (expectKey) throw new PathSyntaxError(`unexpected "." at character ${i + 1}`, i);
      expectKey = true;
      i++;
      continue;
    }
    if (c === '[') {
      const close = findClose(text, i);
      segments.push(bracket(text.slice(i + 1, close), i + 1));
      i = close + 1;
      expectKey = false;
      continue;
    }
    if (!expectKey) throw new PathSyntaxError(`expected "." or "[" at character ${i + 1}`, i);
    const start = i;
    while (i < n && IDENT.test(text[i]!)) i++;
    if (i === start) throw new PathSyntaxError(`unexpected "${c}" at character ${i + 1}; quote such keys as ["..."]`, i);
    segments.push({ kind: 'key', key: text.slice(start, i) });
    expectKey = false;
  }
  if (expectKey) throw new PathSyntaxError('path ends with "."', n - 1);
  for (const s of segments) {
    const name = s.kind === 'index' ? '' : s.key;
    if (FORBIDDEN_KEYS.has(name)) throw new PathSyntaxError(`"${name}" may not appear in a path`, text.indexOf(name));
  }
  let root: PathRoot = 'submission';
  const first = segments[0];
  if (first?.kind === 'key' && ROOTS.has(first.key)) {
    root = first.key as PathRoot;
    segments.shift();
  } else if (first?.kind === 'key' && first.key.startsWith('$')) {
    throw new PathSyntaxError(`unknown variable "${first.key}"; known: ${[...ROOTS].join(', ')}`, 0);
  }
  if ((root === '$index' || root === '$position') && segments.length > 0) {
    throw new PathSyntaxError(`${root} is a number and has no parts`, root.length);
  }
  return { root, segments, text };
}

function findClose(text: string, open: number): number {
  let quote = '';
  for (let i = open + 1; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if (c === ']') return i;
  }
  throw new PathSyntaxError(`"[" at character ${open + 1} is never closed`, open);
}

function bracket(inner: string, offset: number): Segment {
  const t = inner.trim();
  if (/^-?\d+$/.test(t)) return { kind: 'index', index: Number(t) };
  if (t.startsWith('"') || t.startsWith("'")) return { kind: 'key', key: unquote(t, offset) };
  const eq = t.indexOf('=');
  if (eq > 0) {
    const key = t.slice(0, eq).trim();
    const raw = t.slice(eq + 1).trim();
    if (!/^[A-Za-z0-9_$@\-:]+$/.test(key)) throw new PathSyntaxError(`bad filter key "${key}"`, offset);
    const value = raw.startsWith('"') || raw.startsWith("'") ? unquote(raw, offset + eq + 1) : raw;
    if (value === '') throw new PathSyntaxError(`filter [${key}=...] needs a value`, offset + eq);
    return { kind: 'filter', key, value };
  }
  throw new PathSyntaxError(`"[${inner}]" is not an index, a quoted key or a filter like [question_id=dob]`, offset);
}

function unquote(t: string, offset: number): string {
  const q = t[0]!;
  if (t.length < 2 || t[t.length - 1] !== q) throw new PathSyntaxError(`unterminated quote in "${t}"`, offset);
  const body = t.slice(1, -1);
  if (q === '"') {
    try {
      return JSON.parse(t) as string;
    } catch {
      throw new PathSyntaxError(`bad escape in ${t}`, offset);
    }
  }
  return body.replace(/\\(.)/g, '$1');
}

/** Splits an `answer:` reference `question_id[.part]` into its two halves. */
export function parseAnswerRef(text: string): { question: string; part?: string } {
  const m = /^([A-Za-z0-9_-]+)(?:\.([A-Za-z0-9_]+))?$/.exec(text);
  if (!m) throw new PathSyntaxError(`"${text}" is not an answer reference like question_id or question_id.part`, 0);
  const part = m[2];
  if (part !== undefined && FORBIDDEN_KEYS.has(part)) throw new PathSyntaxError(`"${part}" may not appear in a path`, text.indexOf(part));
  if (FORBIDDEN_KEYS.has(m[1]!)) throw new PathSyntaxError(`"${m[1]}" may not appear in a path`, 0);
  return part === undefined ? { question: m[1]! } : { question: m[1]!, part };
}

/** Template pieces: literal text, paths and answers, from `"{{a.b}} text {{answer:full_name.last_name}}"`. */
export type TemplatePiece = { text: string } | { path: ParsedPath; offset: number } | { answer: string; offset: number };

/** Parses a `{{path}}` template. Throws `PathSyntaxError` with the offset of a bad part. */
export function parseTemplate(text: string): TemplatePiece[] {
  const pieces: TemplatePiece[] = [];
  let i = 0;
  while (i < text.length) {
    const open = text.indexOf('{{', i);
    if (open < 0) {
      pieces.push({ text: text.slice(i) });
      break;
    }
    if (open > i) pieces.push({ text: text.slice(i, open) });
    const close = text.indexOf('}}', open + 2);
    if (close < 0) throw new PathSyntaxError('"{{" is never closed with "}}"', open);
    const inner = text.slice(open + 2, close).trim();
    try {
      if (inner.startsWith('answer:')) {
        const ref = inner.slice(7).trim();
        parseAnswerRef(ref);
        pieces.push({ answer: ref, offset: open + 2 });
      } else pieces.push({ path: parsePath(inner), offset: open + 2 });
    } catch (e) {
      if (e instanceof PathSyntaxError) throw new PathSyntaxError(e.message, open + 2 + e.offset);
      throw e;
    }
    i = close + 2;
  }
  return pieces;
}
