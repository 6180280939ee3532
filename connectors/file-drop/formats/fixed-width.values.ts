/**
 * One fixed-width field's value as text of exactly its width: text padded
 * or cut, numbers with implied decimals, zero-fill and sign, computed on
 * decimal digits (never through binary floating point).
 */
import { decimalOf, parseDecimal, type Decimal } from '../../../lib/decimal.js';
import { describeChar, firstUnencodable, type OutputEncoding } from './encoding.js';
import type { CompiledField } from './fixed-width.layout.js';
import { valueText, valueTypeMessage } from './format.types.js';

/** A rendered field, or why the value does not fit (message without the field name). */
export type Rendered = { ok: true; text: string; amount?: bigint } | { ok: false; code: 'VALUE' | 'ENCODING'; message: string };

const NON_ASCII = /[\u0080-\uFFFF]/;
/** Text that needs the slow checks: line breaks, non-ASCII characters. */
export const SPECIAL = /[\r\n\u0080-\uFFFF]/;
const OVERPUNCH_POS = '{ABCDEFGHI';
const OVERPUNCH_NEG = '}JKLMNOPQR';

function utf8(encoding: OutputEncoding): boolean {
  return encoding === 'utf-8' || encoding === 'utf-8-bom';
}

/** Width of text in the file: bytes in UTF-8, characters in a single-byte encoding. */
function widthOf(text: string, encoding: OutputEncoding): number {
  return utf8(encoding) && NON_ASCII.test(text) ? Buffer.byteLength(text, 'utf8') : text.length;
}

function cut(text: string, width: number, encoding: OutputEncoding): string {
  if (!utf8(encoding) || !NON_ASCII.test(text)) return text.slice(0, width);
  let out = '';
  let used = 0;
  for (const ch of text) {
    const n = Buffer.byteLength(ch, 'utf8');
    if (used + n > width) break;
    out += ch;
    used += n;
  }
  return out;
}

function padTo(text: string, used: number, f: CompiledField): string {
  const target = f.length + text.length - used;
  return f.alignRight ? text.padStart(target, f.pad) : text.padEnd(target, f.pad);
}

/** Renders a text field: no line breaks, encodable, not longer than the field unless it truncates. */
export function renderText(value: unknown, f: CompiledField, encoding: OutputEncoding): Rendered {
  const text = typeof value === 'string' ? value : valueText(value);
  if (text === undefined) return { ok: false, code: 'VALUE', message: valueTypeMessage(value) };
  if (!SPECIAL.test(text)) {
    if (text.length <= f.length) return { ok: true, text: padTo(text, text.length, f) };
    if (!f.truncate) return { ok: false, code: 'VALUE', message: `is ${text.length} ${utf8(encoding) ? 'bytes' : 'characters'} long; the field holds ${f.length}` };
    return { ok: true, text: text.slice(0, f.length) };
  }
  if (/[\r\n]/.test(text)) return { ok: false, code: 'VALUE', message: 'holds a line break, which would split the record' };
  const bad = firstUnencodable(text, encoding);
  if (bad !== undefined) return { ok: false, code: 'ENCODING', message: `character ${describeChar(bad)} cannot be written in ${encoding}` };
  let shown = text;
  let width = widthOf(text, encoding);
  if (width > f.length) {
    if (!f.truncate) return { ok: false, code: 'VALUE', message: `is ${width} ${utf8(encoding) ? 'bytes' : 'characters'} long; the field holds ${f.length}` };
    shown = cut(text, f.length, encoding);
    width = widthOf(shown, encoding);
  }
  return { ok: true, text: padTo(shown, width, f) };
}

function readNumber(value: unknown): Decimal | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? decimalOf(value) : undefined;
  if (typeof value === 'bigint') return { neg: value < 0n, int: (value < 0n ? -value : value).toString(), frac: '' };
  return typeof value === 'string' ? parseDecimal(value) : undefined;
}

/**
 * Renders an amount given as an integer in units of the field's last
 * implied decimal (control totals, counts, sequence numbers).
 */
export function renderAmount(amount: bigint, f: CompiledField): Rendered {
  const neg = amount < 0n;
  const digits = (neg ? -amount : amount).toString();
  return place(digits, neg, f, amount);
}

function place(digits: string, neg: boolean, f: CompiledField, amount: bigint): Rendered {
  if (neg && f.sign === 'none') return { ok: false, code: 'VALUE', message: 'is negative and the field has no sign' };
  const room = f.sign === 'leading' || f.sign === 'trailing' ? f.length - 1 : f.length;
  if (digits.length > room) return { ok: false, code: 'VALUE', message: `needs ${digits.length} digits; the field holds ${room}` };
  let body = digits;
  if (f.sign === 'overpunch') body = digits.slice(0, -1) + (neg ? OVERPUNCH_NEG : OVERPUNCH_POS)[Number(digits.slice(-1))]!;
  const filled = f.alignRight ? f.pad.repeat(room - body.length) + body : body + f.pad.repeat(room - body.length);
  const sign = neg ? '-' : '+';
  const text = f.sign === 'leading' ? sign + filled : f.sign === 'trailing' ? filled + sign : filled;
  return { ok: true, text, amount };
}

/**
 * Renders a numeric field from a number, a bigint or numeric text (`parseDecimal`'s
 * forms). Empty values (null, undefined, '') leave the field blank (spaces)
 * and add nothing to totals. More fraction digits than the implied decimals,
 * too many digits, or a negative value in an unsigned field are refused.
 */
export function renderNumeric(value: unknown, f: CompiledField): Rendered {
  if (value === null || value === undefined || value === '') return { ok: true, text: ' '.repeat(f.length) };
  const d = readNumber(value);
  if (d === undefined) {
    const shown = valueText(value);
    return { ok: false, code: 'VALUE', message: shown === undefined ? valueTypeMessage(value) : 'is not a number' };
  }
  if (d.frac.length > f.decimals) return { ok: false, code: 'VALUE', message: `has ${d.frac.length} decimal places; the field has ${f.decimals}` };
  const digits = (d.int + d.frac.padEnd(f.decimals, '0')).replace(/^0+(?=\d)/, '');
  const amount = d.neg ? -BigInt(digits) : BigInt(digits);
  return place(digits, d.neg, f, amount);
}
