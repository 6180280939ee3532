/**
 * Templates in browser steps: text with `{{NAME}}` placeholders, where NAME
 * is a mapped record field, a capture (`ref`), `key`, or `login.username` /
 * `login.password`. No expressions: a placeholder is a name, looked up.
 */

/** A parsed template: literal text and names, alternating. */
export interface Template {
  source: string;
  parts: (string | { name: string })[];
}

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?)\s*\}\}/g;

/** Parses `text`; throws an Error naming the problem for an unclosed or malformed placeholder. */
export function parseTemplate(text: string): Template {
  const parts: Template['parts'] = [];
  let last = 0;
  for (const m of text.matchAll(PLACEHOLDER)) {
    if (m.index > last) parts.push(text.slice(last, m.index));
    parts.push({ name: m[1]! });
    last = m.index + m[0].length;
  }
  if (last < text.length) parts.push(text.slice(last));
  const rest = parts.filter((p): p is string => typeof p === 'string').join('');
  if (rest.includes('{{') || rest.includes('}}')) throw new Error(`"${text}" has a placeholder that is not {{NAME}}`);
  return { source: text, parts };
}

/** Names a template uses. */
export function templateNames(t: Template): string[] {
  return t.parts.filter((p): p is { name: string } => typeof p !== 'string').map((p) => p.name);
}

/** Renders `t`, each name looked up in `vars`; missing and null values render as empty text. */
export function renderTemplate(t: Template, vars: (name: string) => unknown): string {
  let out = '';
  for (const p of t.parts) {
    if (typeof p === 'string') out += p;
    else {
      const v = vars(p.name);
      out += v === undefined || v === null ? '' : String(v);
    }
  }
  return out;
}
