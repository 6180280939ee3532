/**
 * File name templates of the file-drop target: literal text with
 * `{pipeline}`, `{date:FORMAT}` (Luxon tokens, in the target's time zone),
 * `{seq:WIDTH}` (the file's sequence number, zero-padded) and `{ext}`.
 * Nothing in a name comes from submission data; a template that could
 * name a file outside the drop folder (separators, `..`, a leading dot,
 * control characters) is refused when the config is checked, and every
 * rendered name is checked again.
 */
import { DateTime } from 'luxon';

/** What a name is made from. */
export interface NameParts {
  pipeline: string;
  date: Date;
  zone: string;
  seq: number;
  ext: string;
}

type Part = { kind: 'text'; text: string } | { kind: 'pipeline' } | { kind: 'date'; format: string } | { kind: 'seq'; width: number } | { kind: 'ext' };

/** A checked template. */
export interface NameTemplate {
  source: string;
  parts: Part[];
}

const TOKEN = /\{([a-z]+)(?::([^{}]*))?\}/g;
const UNSAFE_CHARS = '/\\:*?"<>|';

function unsafe(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) < 0x20 || UNSAFE_CHARS.includes(text[i]!)) return true;
  return false;
}

/**
 * Checks a template: returns it compiled, or the problems (each a sentence
 * naming the template). `{seq}` must appear, so that names never repeat.
 */
export function compileNameTemplate(source: string): NameTemplate | { problems: string[] } {
  const problems: string[] = [];
  const parts: Part[] = [];
  let last = 0;
  for (const m of source.matchAll(TOKEN)) {
    if (m.index > last) parts.push({ kind: 'text', text: source.slice(last, m.index) });
    last = m.index + m[0].length;
    const [, name, arg] = m;
    if (name === 'pipeline' && arg === undefined) parts.push({ kind: 'pipeline' });
    else if (name === 'ext' && arg === undefined) parts.push({ kind: 'ext' });
    else if (name === 'seq' && (arg === undefined || /^[1-9]\d?$/.test(arg))) parts.push({ kind: 'seq', width: arg === undefined ? 1 : Number(arg) });
    else if (name === 'date' && arg !== undefined && /^[A-Za-z0-9_\-.]+$/.test(arg) && !arg.includes('..')) parts.push({ kind: 'date', format: arg });
    else problems.push(`name template "${source}": {${name}${arg === undefined ? '' : `:${arg}`}} is not one of {pipeline}, {date:FORMAT} (letters, digits, - _ .), {seq:WIDTH}, {ext}`);
  }
  if (last < source.length) parts.push({ kind: 'text', text: source.slice(last) });
  const literal = parts.flatMap((p) => (p.kind === 'text' ? [p.text] : [])).join('');
  if (unsafe(literal) || /[{}]/.test(literal)) problems.push(`name template "${source}": a file name cannot hold / \\ : * ? " < > |, braces or control characters; the file must stay in the drop folder`);
  if (literal.includes('..')) problems.push(`name template "${source}": ".." is not allowed; the file must stay in the drop folder`);
  if (source.startsWith('.')) problems.push(`name template "${source}": names starting with "." are the target's temporary files`);
  if (!parts.some((p) => p.kind === 'seq')) problems.push(`name template "${source}": needs {seq} (or {seq:WIDTH}) so that no two files get the same name`);
  return problems.length ? { problems } : { source, parts };
}

/** Renders a name; throws when the result could leave the folder (a pipeline name with a separator, say). */
export function renderName(t: NameTemplate, p: NameParts): string {
  let out = '';
  for (const part of t.parts) {
    if (part.kind === 'text') out += part.text;
    else if (part.kind === 'pipeline') out += p.pipeline;
    else if (part.kind === 'ext') out += p.ext;
    else if (part.kind === 'seq') out += String(p.seq).padStart(part.width, '0');
    else out += DateTime.fromJSDate(p.date, { zone: p.zone }).toFormat(part.format);
  }
  if (out === '' || out.startsWith('.') || out.includes('..') || unsafe(out)) throw new Error(`name template "${t.source}" gave "${out}", which could leave the drop folder`);
  return out;
}
