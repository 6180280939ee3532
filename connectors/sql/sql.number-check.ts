/**
 * What can be known, before any record, of a mapping field's numbers
 * against a numeric column: from the field's last transform (`number`,
 * `formatNumber`, `impliedDecimals`), its constant, and its `validate`
 * (`range`, an `enum` of numbers). Findings that every record would meet,
 * or that the mapping lets through although the column refuses them (a
 * `validate range` wider than a smallint, more decimals written than the
 * column keeps, thousands separators), are problems; findings that some
 * records may meet (a `number` with no range into a smallint) are
 * warnings: those records are refused one by one before sending
 * (`sql.values.ts`), and a `validate` in the mapping would refuse them
 * when mapped instead. Never quotes a value but the mapping's own. Pure.
 */
import type { FieldSpec, TransformStep } from '../../mappings/mapping.types.js';
import type { ColumnInfo } from './sql.config.js';

/** What the mapping says of a field's numbers; undefined members are not known. */
export interface DeclaredNumber {
  /** How the field makes its value, as named in messages (`number { integer: true }`, `its constant 7`). */
  how: string;
  /** Made by a number transform, so any number may come out unless bounded; a field bounded by its `validate` alone says nothing of the rest. */
  made?: boolean;
  /** A constant: every record has this value. */
  constant?: number;
  min?: number;
  max?: number;
  /** Where the bounds come from (`validate range`, `validate enum`, `its constant`). */
  bounds?: string;
  /** True when only whole numbers come out; false when fractions can. */
  whole?: boolean;
  /** Exactly this many digits after the point are written (`formatNumber` with `decimals`). */
  decimals?: number;
  /** Written with thousands separators (`formatNumber { thousands: true }`). */
  thousands?: boolean;
  /** `impliedDecimals` places: 12.34 written as 1234. */
  implied?: number;
}

/** A field's findings against one column: `problems` stop the pipeline at connect, `warnings` are told. */
export interface NumberFindings {
  problems: string[];
  warnings: string[];
}

function argsOf(step: TransformStep, main: string): Record<string, unknown> {
  const a = step.args;
  if (a !== null && typeof a === 'object' && !Array.isArray(a)) return a as Record<string, unknown>;
  return a === undefined || a === null ? {} : { [main]: a };
}

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** What `f` declares of its numbers, or undefined when it declares nothing numeric. */
export function declaredNumber(f: FieldSpec): DeclaredNumber | undefined {
  let out: DeclaredNumber | undefined;
  const last = f.transform[f.transform.length - 1];
  if (last?.name === 'number') {
    const integer = argsOf(last, 'integer').integer === true;
    out = { how: integer ? 'number { integer: true }' : 'number', made: true, whole: integer ? true : undefined };
  } else if (last?.name === 'formatNumber') {
    const a = argsOf(last, 'decimals');
    const decimals = finite(a.decimals) ? a.decimals : undefined;
    out = { how: decimals === undefined ? 'formatNumber' : `formatNumber { decimals: ${decimals} }`, made: true, whole: decimals === 0 ? true : undefined, decimals, thousands: a.thousands === true };
    if (out.thousands) out.how = `formatNumber { thousands: true }`;
  } else if (last?.name === 'impliedDecimals') {
    const places = argsOf(last, 'places').places;
    out = { how: `impliedDecimals ${String(places)}`, made: true, whole: true, implied: finite(places) ? places : undefined };
  } else if (!f.transform.length && finite(f.const)) {
    out = { how: `its constant ${f.const}`, constant: f.const, min: f.const, max: f.const, bounds: 'its constant', whole: Number.isInteger(f.const) };
  }
  const range = f.validate?.range;
  const lo = finite(range?.min) ? range.min : undefined;
  const hi = finite(range?.max) ? range.max : undefined;
  if (lo !== undefined || hi !== undefined) {
    out ??= { how: 'its validate range' };
    if (lo !== undefined) out.min = lo;
    if (hi !== undefined) out.max = hi;
    out.bounds = 'validate range';
  }
  const list = f.validate?.enum;
  if (list?.length && list.every(finite)) {
    out ??= { how: 'its validate enum' };
    out.min = Math.min(...list);
    out.max = Math.max(...list);
    out.bounds = 'validate enum';
    if (list.every((n) => Number.isInteger(n))) out.whole = true;
  }
  return out;
}

/** Digits before the point of the integer part of |n|. */
const wholeDigits = (n: number): number => {
  const i = Math.trunc(Math.abs(n));
  return i === 0 ? 0 : String(BigInt(i)).length;
};

/** Digits after the point of n, as JavaScript writes it. */
const fractionDigits = (n: number): number => {
  const text = n.toLocaleString('en-GB', { useGrouping: false, maximumFractionDigits: 20 });
  return text.includes('.') ? text.length - text.indexOf('.') - 1 : 0;
};

function bounded(d: DeclaredNumber): string | undefined {
  if (d.min === undefined && d.max === undefined) return 'no validate range';
  if (d.min === undefined) return `no lower bound (${d.bounds})`;
  if (d.max === undefined) return `no upper bound (${d.bounds})`;
  return undefined;
}

/** `its constant 70000`, or `validate range allows up to 70000`. */
function reach(d: DeclaredNumber, n: number, side: 'down to' | 'up to'): string {
  return d.constant !== undefined ? `${d.how} is out of range` : `${d.bounds} allows ${side} ${n}`;
}

function integerFindings(d: DeclaredNumber, range: { min: bigint; max: bigint }, col: string, out: NumberFindings): void {
  if (d.decimals !== undefined && d.decimals > 0) out.problems.push(`writes ${d.decimals} digits after the point (${d.how}); ${col} holds whole numbers`);
  else if (d.constant !== undefined && !d.whole) out.problems.push(`${d.how} is not a whole number; ${col} holds whole numbers`);
  else if (d.made && d.whole !== true) out.warnings.push(`can be a fraction (${d.how}); ${col} holds whole numbers: number { integer: true } refuses a fraction when it is mapped`);
  if (d.min !== undefined && BigInt(Math.ceil(d.min)) < range.min) out.problems.push(`${reach(d, d.min, 'down to')}; ${col} holds ${range.min} to ${range.max}`);
  else if (d.max !== undefined && BigInt(Math.floor(d.max)) > range.max) out.problems.push(`${reach(d, d.max, 'up to')}; ${col} holds ${range.min} to ${range.max}`);
  else {
    const open = d.made && bounded(d);
    const wide = range.max - range.min >= 1n << 63n;
    if (open && !wide) out.warnings.push(`can be any number (${d.how}, ${open}); ${col} holds ${range.min} to ${range.max}: a record outside is refused when it is sent, and validate: { range: { min: ${range.min}, max: ${range.max} } } would refuse it when it is mapped`);
  }
}

function decimalFindings(d: DeclaredNumber, range: { precision: number; scale: number }, col: string, out: NumberFindings): void {
  const before = range.precision - range.scale;
  if (d.decimals !== undefined && d.decimals > range.scale) out.problems.push(`writes ${d.decimals} digits after the point (${d.how}); ${col} keeps ${range.scale}`);
  else if (d.constant !== undefined && fractionDigits(d.constant) > range.scale) out.problems.push(`${d.how} has ${fractionDigits(d.constant)} digits after the point; ${col} keeps ${range.scale}`);
  else if (d.made && d.whole !== true && d.decimals === undefined) out.warnings.push(`can have more than ${range.scale} digits after the point (${d.how}); ${col} keeps ${range.scale}: round it in the mapping (formatNumber: { decimals: ${range.scale} })`);
  const widest = Math.max(d.min === undefined ? 0 : wholeDigits(d.min), d.max === undefined ? 0 : wholeDigits(d.max));
  if (widest > before) out.problems.push(`${d.constant !== undefined ? `${d.how} has` : `${d.bounds} allows`} ${widest} digits before the point; ${col} holds at most ${before}`);
  else {
    const open = d.made && bounded(d);
    if (open) out.warnings.push(`can be any number (${d.how}, ${open}); ${col} holds at most ${before} digits before the point: a record with more is refused when it is sent, and a validate range would refuse it when it is mapped`);
  }
}

/**
 * The findings of field `f` against numeric column `c` (`col` names the
 * column in messages: `column T.C (smallint)`); none when `f` declares
 * nothing numeric or the column holds no numbers.
 */
export function numberFindings(f: FieldSpec, c: ColumnInfo, col: string): NumberFindings {
  const out: NumberFindings = { problems: [], warnings: [] };
  if (c.family !== 'number') return out;
  const d = declaredNumber(f);
  if (!d) return out;
  if (d.thousands) {
    out.problems.push(`writes thousands separators (${d.how}), which ${col} cannot take`);
    return out;
  }
  if (d.implied !== undefined && d.implied > 0) out.warnings.push(`writes 12.34 as 1234 (${d.how}, a fixed-width layout's implied decimals); ${col} would store 1234: use number or formatNumber`);
  if (c.numeric?.kind === 'integer') integerFindings(d, c.numeric, col, out);
  else if (c.numeric?.kind === 'decimal') decimalFindings(d, c.numeric, col, out);
  return out;
}
