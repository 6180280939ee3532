import { describe, expect, it } from 'vitest';
import type { FieldSpec, FieldValidation, TransformStep } from '../../mappings/mapping.types.js';
import type { ColumnInfo } from './sql.config.js';
import { checkMapping, type SchemaProblem } from './sql.mapping-check.js';
import { numericRange } from './sql.schema.js';

const col = (name: string, dataType: string, type = dataType): ColumnInfo => {
  const numeric = numericRange(dataType, type);
  return { name, type, family: 'number', fixed: false, nullable: true, hasDefault: false, generated: false, ...(numeric && { numeric }) };
};
const field = (name: string, transform: TransformStep[], validate?: FieldValidation, extra: Partial<FieldSpec> = {}): FieldSpec => ({ name, from: name.toLowerCase(), transform, required: false, pii: false, ...(validate && { validate }), ...extra });
const step = (name: string, args: unknown = null): TransformStep => ({ name, args });
const columns = [col('QTY', 'smallint'), col('SEATS', 'tinyint', 'tinyint(3) unsigned'), col('N', 'integer'), col('BIG', 'bigint'), col('AMOUNT', 'numeric', 'numeric(5,2)'), col('RATE', 'real')];

function check(...fields: FieldSpec[]): { problems: string[]; warnings: string[] } {
  const warnings: SchemaProblem[] = [];
  const problems = checkMapping(fields, { table: 'orders', columns, rename: {}, mode: 'update' }, warnings);
  return { problems: problems.map((p) => p.message), warnings: warnings.map((w) => w.message) };
}

describe('what a mapping declares of its numbers, against numeric columns (validate --connect)', () => {
  it('finds nothing to say of fields that fit: bounded whole numbers, rounded decimals, numbers into real, fields that declare nothing numeric', () => {
    expect(
      check(
        field('QTY', [step('number', { integer: true })], { range: { min: 0, max: 999 } }),
        field('SEATS', [], { enum: [1, 2, 4] }),
        field('N', [step('trim')]),
        field('BIG', [step('number', { integer: true })]),
        field('AMOUNT', [step('formatNumber', { decimals: 2 })], { range: { min: -999.99, max: 999.99 } }),
        field('RATE', [step('number')]),
      ),
    ).toEqual({ problems: [], warnings: [] });
  });

  it('warns of a number with no range into a smallint, and of a fraction into whole numbers, naming field and column', () => {
    expect(check(field('QTY', [step('number')]))).toEqual({
      problems: [],
      warnings: [
        'mapping field QTY: can be a fraction (number); column orders.QTY (smallint) holds whole numbers: number { integer: true } refuses a fraction when it is mapped',
        'mapping field QTY: can be any number (number, no validate range); column orders.QTY (smallint) holds -32768 to 32767: a record outside is refused when it is sent, and validate: { range: { min: -32768, max: 32767 } } would refuse it when it is mapped',
      ],
    });
    expect(check(field('N', [step('number', { integer: true })], { range: { min: 0 } })).warnings).toEqual([
      'mapping field N: can be any number (number { integer: true }, no upper bound (validate range)); column orders.N (integer) holds -2147483648 to 2147483647: a record outside is refused when it is sent, and validate: { range: { min: -2147483648, max: 2147483647 } } would refuse it when it is mapped',
    ]);
  });

  it('refuses a range, an enum or a constant the column cannot hold, and more decimals written than it keeps', () => {
    expect(
      check(
        field('QTY', [step('number', { integer: true })], { range: { min: 0, max: 100000 } }),
        field('SEATS', [], { enum: [-1, 5] }),
        field('N', [], undefined, { from: undefined, const: 2.5 }),
        field('AMOUNT', [step('formatNumber', { decimals: 3 })], { range: { max: 1000 } }),
      ).problems,
    ).toEqual([
      'mapping field QTY: validate range allows up to 100000; column orders.QTY (smallint) holds -32768 to 32767',
      'mapping field SEATS: validate enum allows down to -1; column orders.SEATS (tinyint(3) unsigned) holds 0 to 255',
      'mapping field N: its constant 2.5 is not a whole number; column orders.N (integer) holds whole numbers',
      'mapping field AMOUNT: writes 3 digits after the point (formatNumber { decimals: 3 }); column orders.AMOUNT (numeric(5,2)) keeps 2',
      'mapping field AMOUNT: validate range allows 4 digits before the point; column orders.AMOUNT (numeric(5,2)) holds at most 3',
    ]);
    expect(check(field('QTY', [], undefined, { from: undefined, const: 70000 })).problems).toEqual(['mapping field QTY: its constant 70000 is out of range; column orders.QTY (smallint) holds -32768 to 32767']);
  });

  it('refuses thousands separators into a number column, and warns of implied decimals and unrounded numbers into a decimal', () => {
    expect(check(field('RATE', [step('formatNumber', { thousands: true })]))).toEqual({ problems: ['mapping field RATE: writes thousands separators (formatNumber { thousands: true }), which column orders.RATE (real) cannot take'], warnings: [] });
    expect(check(field('AMOUNT', [step('impliedDecimals', 2)], { range: { min: 0, max: 999 } }), field('QTY', [step('number')], { range: { min: 0, max: 10 } }))).toEqual({
      problems: [],
      warnings: [
        'mapping field AMOUNT: writes 12.34 as 1234 (impliedDecimals 2, a fixed-width layout\'s implied decimals); column orders.AMOUNT (numeric(5,2)) would store 1234: use number or formatNumber',
        'mapping field QTY: can be a fraction (number); column orders.QTY (smallint) holds whole numbers: number { integer: true } refuses a fraction when it is mapped',
      ],
    });
    expect(check(field('AMOUNT', [step('number')], { range: { min: 0, max: 999 } })).warnings).toEqual([
      'mapping field AMOUNT: can have more than 2 digits after the point (number); column orders.AMOUNT (numeric(5,2)) keeps 2: round it in the mapping (formatNumber: { decimals: 2 })',
    ]);
  });
});
