/**
 * Exact decimal handling for the number transforms and fixed-width files:
 * numeric text is read into decimal digits without going through a binary
 * float, and rounding works on those digits (half away from zero), so
 * "1.005" rounds to "1.01". Pure.
 */

/** A finite decimal: sign, integer digits (no leading zeros except "0") and fraction digits. */
export interface Decimal {
  neg: boolean;
  int: string;
  frac: string;
}

const NUMERIC_TEXT = /^([+-])?\s*([£$€])?\s*([+-])?\s*(\d{1,3}(?:,\d{3})+|\d+)?(?:\.(\d*))?$/;

function normalise(neg: boolean, int: string, frac: string): Decimal {
  const i = int === '' ? '0' : int.length > 1 && int.charCodeAt(0) === 48 ? int.replace(/^0+(?=\d)/, '') : int;
  const f = frac.endsWith('0') ? frac.replace(/0+$/, '') : frac;
  return { neg: neg && (i !== '0' || f !== ''), int: i, frac: f };
}

/**
 * Reads numeric text as people write it: optional sign, optional currency
 * symbol (£, $, €), digits with optional comma thousands separators in groups
 * of three, optional decimal point. Surrounding whitespace is ignored.
 * Returns `undefined` for anything else (exponents, two signs, "1,23").
 */
export function parseDecimal(text: string): Decimal | undefined {
  const m = NUMERIC_TEXT.exec(text.trim());
  if (m === null) return undefined;
  const [, sign1, , sign2, int = '', frac = ''] = m;
  if ((sign1 !== undefined && sign2 !== undefined) || (int === '' && frac === '')) return undefined;
  return normalise((sign1 ?? sign2) === '-', int.replace(/,/g, ''), frac);
}

/** The exact decimal digits of a finite number's shortest round-trip representation. */
export function decimalOf(n: number): Decimal {
  const s = String(Math.abs(n));
  const e = s.indexOf('e');
  if (e < 0) {
    const dot = s.indexOf('.');
    return normalise(n < 0, dot < 0 ? s : s.slice(0, dot), dot < 0 ? '' : s.slice(dot + 1));
  }
  const exp = Number(s.slice(e + 1));
  const mantissa = s.slice(0, e);
  const dot = mantissa.indexOf('.');
  const digits = mantissa.replace('.', '');
  const point = (dot < 0 ? mantissa.length : dot) + exp;
  if (point <= 0) return normalise(n < 0, '0', '0'.repeat(-point) + digits);
  if (point >= digits.length) return normalise(n < 0, digits + '0'.repeat(point - digits.length), '');
  return normalise(n < 0, digits.slice(0, point), digits.slice(point));
}

function incrementDigits(digits: string): string {
  const out = digits.split('');
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i] !== '9') {
      out[i] = String(Number(out[i]) + 1);
      return out.join('');
    }
    out[i] = '0';
  }
  return '1' + out.join('');
}

/** Rounds to `places` fraction digits, half away from zero; the result's `frac` has exactly `places` digits. */
export function roundDecimal(d: Decimal, places: number): Decimal {
  if (d.frac.length <= places) return { ...d, frac: d.frac.padEnd(places, '0') };
  let digits = d.int + d.frac.slice(0, places);
  if (d.frac.charCodeAt(places) >= 53) digits = incrementDigits(digits);
  const int = digits.slice(0, digits.length - places) || '0';
  const frac = digits.slice(digits.length - places);
  const zero = /^0*$/.test(int) && /^0*$/.test(frac);
  return { neg: d.neg && !zero, int: int.replace(/^0+(?=\d)/, ''), frac };
}

/** The decimal as a JavaScript number. */
export function toNumber(d: Decimal): number {
  const n = Number(d.frac === '' ? d.int : `${d.int}.${d.frac}`);
  return d.neg ? -n : n;
}

/** Groups integer digits in threes with `sep`: "1234567" becomes "1,234,567". */
export function groupThousands(int: string, sep: string): string {
  let out = '';
  for (let i = int.length; i > 0; i -= 3) {
    out = int.slice(Math.max(0, i - 3), i) + (out === '' ? '' : sep + out);
  }
  return out;
}
