import { describe, expect, it } from 'vitest';
import { numericRange } from './sql.schema.js';
import { valueProblem } from './sql.values.js';
import type { ColumnInfo } from './sql.config.js';

const col = (type: string, dataType: string, unsignedTiny = false): ColumnInfo => ({ name: 'C', type, family: 'number', fixed: false, nullable: true, hasDefault: false, generated: false, numeric: numericRange(dataType, type, unsignedTiny)! });

describe('numeric ranges of column types', () => {
  it('knows the integer types of the three databases, signed and unsigned', () => {
    expect(numericRange('smallint', 'smallint')).toEqual({ kind: 'integer', min: -32768n, max: 32767n });
    expect(numericRange('int4', 'integer')).toEqual({ kind: 'integer', min: -2147483648n, max: 2147483647n });
    expect(numericRange('bigint', 'bigint(20) unsigned')).toEqual({ kind: 'integer', min: 0n, max: 18446744073709551615n });
    expect(numericRange('tinyint', 'tinyint(4)')).toEqual({ kind: 'integer', min: -128n, max: 127n });
    expect(numericRange('tinyint', 'tinyint', true)).toEqual({ kind: 'integer', min: 0n, max: 255n });
    expect(numericRange('mediumint', 'mediumint(8) unsigned')).toEqual({ kind: 'integer', min: 0n, max: 16777215n });
    expect(numericRange('numeric', 'numeric(5,2)')).toEqual({ kind: 'decimal', precision: 5, scale: 2 });
    expect(numericRange('decimal', 'decimal(10)')).toEqual({ kind: 'decimal', precision: 10, scale: 0 });
    expect(numericRange('numeric', 'numeric')).toBeUndefined();
    expect(numericRange('real', 'real')).toBeUndefined();
  });

  it('refuses a number outside the column, naming field and column, never the value', () => {
    const small = col('smallint', 'smallint');
    expect(valueProblem(70000, small, 'QTY', 't')).toBe('field QTY is out of range for column t.C (smallint): it holds -32768 to 32767');
    expect(valueProblem('-32769', small, 'QTY', 't')).toBe('field QTY is out of range for column t.C (smallint): it holds -32768 to 32767');
    expect(valueProblem(32767, small, 'QTY', 't')).toBeUndefined();
    expect(valueProblem('12.5', small, 'QTY', 't')).toBe('field QTY is not a whole number; column t.C (smallint) holds whole numbers');
    expect(valueProblem(12.0, small, 'QTY', 't')).toBeUndefined();
    const money = col('numeric(5,2)', 'numeric');
    expect(valueProblem(1234.5, money, 'AMOUNT', 't')).toBe('field AMOUNT has 4 digits before the point; column t.C (numeric(5,2)) holds at most 3');
    expect(valueProblem('12.345', money, 'AMOUNT', 't')).toBe('field AMOUNT has 3 digits after the point; column t.C (numeric(5,2)) keeps 2 (round it in the mapping rather than let the database round it)');
    expect(valueProblem('999.99', money, 'AMOUNT', 't')).toBeUndefined();
    expect(valueProblem(-0.5, money, 'AMOUNT', 't')).toBeUndefined();
    expect(valueProblem('12.50', money, 'AMOUNT', 't')).toBeUndefined();
    const big = col('bigint', 'bigint');
    expect(valueProblem('9223372036854775807', big, 'N', 't')).toBeUndefined();
    expect(valueProblem('9223372036854775808', big, 'N', 't')).toBe('field N is out of range for column t.C (bigint): it holds -9223372036854775808 to 9223372036854775807');
    expect(valueProblem('not a number', small, 'QTY', 't')).toBeUndefined();
  });
});
