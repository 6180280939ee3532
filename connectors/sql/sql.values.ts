/**
 * Whether one value fits one column, checked before it is sent: a text
 * longer than the column (which MariaDB in non-strict mode would cut
 * silently) or holding a character a latin1 column cannot store (which it
 * would turn into `?`). Pure.
 */
import type { ColumnInfo } from './sql.config.js';

/** Characters windows-1252 (MariaDB's "latin1") has above U+00FF. */
const CP1252_EXTRA = new Set([...'€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ']);

/** The first character of `text` a latin1 (windows-1252) column cannot store, or undefined. */
export function firstNonLatin1(text: string): string | undefined {
  for (const ch of text) {
    if ((ch.codePointAt(0) as number) > 0xff && !CP1252_EXTRA.has(ch)) return ch;
  }
  return undefined;
}

const hex = (ch: string) => `U+${(ch.codePointAt(0) as number).toString(16).toUpperCase().padStart(4, '0')}`;

/**
 * Why `value` of mapping field `field` cannot go into `column` of `table`
 * unchanged, as a sentence naming both, or undefined when it fits. Never
 * quotes the value (it may be personal data).
 */
export function valueProblem(value: unknown, column: ColumnInfo, field: string, table: string): string | undefined {
  if (typeof value !== 'string') return undefined;
  const where = `column ${table}.${column.name} (${column.type})`;
  if (column.maxLength !== undefined) {
    const length = [...value].length;
    if (length > column.maxLength) return `field ${field} is ${length} characters long; ${where} holds at most ${column.maxLength}`;
  }
  if (column.charset === 'latin1') {
    const ch = firstNonLatin1(value);
    if (ch !== undefined) return `field ${field} holds ${hex(ch)}, which ${where} cannot store in latin1; transliterate it in the mapping ({ transliterate: { charset: latin1 } })`;
  }
  return undefined;
}
