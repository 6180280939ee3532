/**
 * Helpers shared by the built-in transforms for reading values and wording
 * failures. Pure and allocation-light: they run once per record.
 */
import { TransformFailure } from './transform.types.js';

/** Names the kind of a value for a message without showing the value: `a list`, `an object`, `NaN`. */
export function kindOf(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  if (value instanceof Date) return 'a Date';
  if (typeof value === 'number') return Number.isFinite(value) ? 'a number' : String(value);
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

/**
 * The value as text: strings unchanged; finite numbers, bigints and booleans
 * stringified. Anything else throws `TransformFailure(rule, ...)`.
 */
export function asText(value: unknown, rule: string): string {
  if (typeof value === 'string') return value;
  if ((typeof value === 'number' && Number.isFinite(value)) || typeof value === 'bigint' || typeof value === 'boolean') {
    return String(value);
  }
  throw new TransformFailure(rule, `expected text but got ${kindOf(value)}`);
}

/** A string quoted for a message, with JSON escaping of control characters. */
export function quote(s: string): string {
  return JSON.stringify(s);
}

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

/** Number of Unicode code points in `s` (a surrogate pair counts once). */
export function codePointLength(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length - 1; i++) {
    if (isHighSurrogate(s.charCodeAt(i)) && isLowSurrogate(s.charCodeAt(i + 1))) {
      n--;
      i++;
    }
  }
  return n;
}

/** The first `n` code points of `s`; never splits a surrogate pair. */
export function sliceCodePoints(s: string, n: number): string {
  if (s.length <= n) return s;
  let units = 0;
  for (let points = 0; points < n && units < s.length; points++) {
    units += isHighSurrogate(s.charCodeAt(units)) && isLowSurrogate(s.charCodeAt(units + 1)) ? 2 : 1;
  }
  return s.slice(0, units);
}
