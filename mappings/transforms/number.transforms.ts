/**
 * Number transforms. `number` reads numeric text into a number; `formatNumber`
 * and `impliedDecimals` write numbers as text for fixed layouts, rounding on
 * the exact decimal digits, half away from zero.
 */
import { Args } from './args.js';
import { decimalOf, groupThousands, parseDecimal, roundDecimal, toNumber, type Decimal } from '../../lib/decimal.js';
import { TransformFailure, type TransformDef } from './transform.types.js';
import { kindOf, quote } from './values.js';

function readDecimal(v: unknown, rule: string): Decimal {
  if (typeof v === 'number' && Number.isFinite(v)) return decimalOf(v);
  if (typeof v === 'string') {
    const d = parseDecimal(v);
    if (d !== undefined) return d;
    throw new TransformFailure(rule, `${quote(v)} is not a number`);
  }
  throw new TransformFailure(rule, `expected a number but got ${kindOf(v)}`);
}

function signed(body: string, neg: boolean, sign: 'leading' | 'trailing'): string {
  if (!neg) return body;
  return sign === 'leading' ? '-' + body : body + '-';
}

const SIGN = {
  enum: ['leading', 'trailing'],
  default: 'leading',
  description: 'where a minus sign goes: `-12.30` (leading) or `12.30-` (trailing)',
};

/**
 * `number`: numeric text ("1,234.50", "£12.30", " 42 ", "-5") becomes a
 * number; numbers pass through. Anything else fails with rule `number`, as
 * does a fraction when `integer: true`.
 */
export const number: TransformDef = {
  name: 'number',
  doc: 'Reads numeric text such as "1,234.50", "£12.30" or " 42 " as a number; anything else fails (rule `number`), and so does a fraction when `integer: true`.',
  args: {
    type: 'object',
    properties: { integer: { type: 'boolean', default: false, description: 'refuse numbers with a fractional part' } },
    additionalProperties: false,
  },
  argsOptional: true,
  example: { integer: true },
  create(args) {
    const integer = Args.of(args, ['integer']).bool('integer', false);
    return (v) => {
      const n = typeof v === 'number' && Number.isFinite(v) ? v : toNumber(readDecimal(v, 'number'));
      if (integer && !Number.isInteger(n)) {
        throw new TransformFailure('number', `${quote(String(v))} is not a whole number`);
      }
      return n;
    };
  },
};

/**
 * `formatNumber`: writes a number (or numeric text) as text with `decimals`
 * fraction digits (absent: as many as it has), optional comma thousands
 * separators, and a leading or trailing minus. Never writes "-0".
 */
export const formatNumber: TransformDef = {
  name: 'formatNumber',
  doc: 'Writes a number as text with `decimals` fraction digits (rounding half away from zero), optional thousands separators and a leading or trailing minus sign.',
  args: {
    oneOf: [
      { type: 'integer', minimum: 0, maximum: 20, description: 'number of decimals' },
      {
        type: 'object',
        properties: {
          decimals: { type: 'integer', minimum: 0, maximum: 20, description: 'fraction digits; absent keeps the number\'s own' },
          thousands: { type: 'boolean', default: false, description: 'separate thousands with commas: 1,234.50' },
          sign: SIGN,
        },
        additionalProperties: false,
      },
    ],
  },
  argsOptional: true,
  example: { decimals: 2, thousands: true },
  create(args) {
    const a = Args.of(args, ['decimals', 'thousands', 'sign'], 'decimals');
    const decimals = a.has('decimals') ? a.int('decimals', { min: 0, max: 20 }) : undefined;
    const thousands = a.bool('thousands', false);
    const sign = a.choice('sign', ['leading', 'trailing'] as const, 'leading');
    return (v) => {
      const raw = readDecimal(v, 'number');
      const d = decimals === undefined ? raw : roundDecimal(raw, decimals);
      const int = thousands ? groupThousands(d.int, ',') : d.int;
      return signed(d.frac === '' ? int : `${int}.${d.frac}`, d.neg, sign);
    };
  },
};

/**
 * `impliedDecimals`: writes a number as digits with `places` implied decimal
 * places, as fixed-width layouts want: 12.34 with 2 gives "1234", 0.05 gives
 * "5", 12.345 gives "1235" (half away from zero), -12.34 gives "-1234" (or
 * "1234-" with `sign: trailing`).
 */
export const impliedDecimals: TransformDef = {
  name: 'impliedDecimals',
  doc: 'Writes a number as digits with `places` implied decimals: 12.34 with 2 gives "1234"; rounds half away from zero; a negative number gets a leading minus ("-1234") or, with `sign: trailing`, a trailing one ("1234-").',
  args: {
    oneOf: [
      { type: 'integer', minimum: 0, maximum: 20, description: 'number of implied decimal places' },
      {
        type: 'object',
        properties: {
          places: { type: 'integer', minimum: 0, maximum: 20, description: 'number of implied decimal places' },
          sign: SIGN,
        },
        required: ['places'],
        additionalProperties: false,
      },
    ],
  },
  example: 2,
  create(args) {
    const a = Args.of(args, ['places', 'sign'], 'places');
    const places = a.int('places', { min: 0, max: 20 });
    const sign = a.choice('sign', ['leading', 'trailing'] as const, 'leading');
    return (v) => {
      const d = roundDecimal(readDecimal(v, 'number'), places);
      const digits = (d.int + d.frac).replace(/^0+(?=\d)/, '');
      return signed(digits, d.neg, sign);
    };
  },
};

/** The number transforms, in reference order. */
export const NUMBER_TRANSFORMS: readonly TransformDef[] = [number, formatNumber, impliedDecimals];
