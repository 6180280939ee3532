/**
 * Whether one value fits one column, checked before it is sent: a text
 * longer than the column (which MariaDB in non-strict mode would cut
 * silently), holding a character a latin1 column cannot store (which it
 * would turn into `?`), or a number outside an integer type's range or a
 * decimal's precision and scale (which the database reports without the
 * field, or rounds silently). Pure.
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

/** A number as text: what a numeric column is handed as a string. */
const NUMBER_TEXT = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

/** Digits before and after the point of a finite number, from its plain decimal text (no exponent). */
function digitsOf(value: number | bigint | string): { whole: string; fraction: string; negative: boolean } | undefined {
  let text: string;
  if (typeof value === 'bigint') text = value.toString();
  else {
    const n = typeof value === 'number' ? value : Number(value.trim());
    if (!Number.isFinite(n)) return undefined;
    text = typeof value === 'string' && !/[eE]/.test(value) ? value.trim().replace(/^\+/, '') : n.toLocaleString('en-GB', { useGrouping: false, maximumFractionDigits: 20 });
  }
  const negative = text.startsWith('-');
  const [whole = '', fraction = ''] = text.replace(/^-/, '').split('.');
  return { whole: whole.replace(/^0+(?=\d)/, ''), fraction: fraction.replace(/0+$/, ''), negative };
}

/** Why a number does not fit a numeric column's range, naming field and column, never the value. */
function numberProblem(value: number | bigint | string, range: NonNullable<ColumnInfo['numeric']>, field: string, where: string): string | undefined {
  const d = digitsOf(value);
  if (!d) return `field ${field} is not a finite number; ${where} holds numbers`;
  if (range.kind === 'integer') {
    if (d.fraction !== '') return `field ${field} is not a whole number; ${where} holds whole numbers`;
    const n = BigInt(`${d.negative ? '-' : ''}${d.whole || '0'}`);
    if (n < range.min || n > range.max) return `field ${field} is out of range for ${where}: it holds ${range.min} to ${range.max}`;
    return undefined;
  }
  const wholeDigits = d.whole === '0' ? 0 : d.whole.length;
  if (wholeDigits > range.precision - range.scale) return `field ${field} has ${wholeDigits} digits before the point; ${where} holds at most ${range.precision - range.scale}`;
  if (d.fraction.length > range.scale) return `field ${field} has ${d.fraction.length} digits after the point; ${where} keeps ${range.scale} (round it in the mapping rather than let the database round it)`;
  return undefined;
}

/**
 * Why `value` of mapping field `field` cannot go into `column` of `table`
 * unchanged, as a sentence naming both, or undefined when it fits. Never
 * quotes the value (it may be personal data).
 */
export function valueProblem(value: unknown, column: ColumnInfo, field: string, table: string): string | undefined {
  if (column.numeric && (typeof value === 'number' || typeof value === 'bigint' || (typeof value === 'string' && NUMBER_TEXT.test(value.trim())))) {
    return numberProblem(value, column.numeric, field, `column ${table}.${column.name} (${column.type})`);
  }
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
