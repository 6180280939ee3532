import { describe, expect, it } from 'vitest';
import type { ColumnInfo } from './sql.config.js';
import { readBackOn, sameValue } from './sql.readback.js';

const col = (family: ColumnInfo['family'], fixed = false): ColumnInfo => ({ name: 'C', type: family, family, fixed, nullable: true, hasDefault: false, generated: false });

describe('read-back comparison', () => {
  it('trims CHAR padding only for CHAR(n) columns', () => {
    expect(sameValue('MORGAN', 'MORGAN                             ', col('text', true))).toBe(true);
    expect(sameValue('MORGAN', 'MORGAN  ', col('text'))).toBe(false);
    expect(sameValue('MORGAN', 'MORGA', col('text', true))).toBe(false);
  });
  it('compares numbers numerically, dates as days, timestamps as instants, booleans by truth', () => {
    expect(sameValue('12.50', '12.5', col('number'))).toBe(true);
    expect(sameValue(123456.78, '99999.99', col('number'))).toBe(false);
    expect(sameValue('1990-03-14', new Date(1990, 2, 14), col('date'))).toBe(true);
    expect(sameValue('1990-03-14', '1990-03-15', col('date'))).toBe(false);
    expect(sameValue('2024-02-01T10:00:00Z', new Date(Date.UTC(2024, 1, 1, 10)), col('timestamp'))).toBe(true);
    expect(sameValue(true, 1, col('boolean'))).toBe(true);
    expect(sameValue(false, 't', col('boolean'))).toBe(false);
  });
  it('compares a boolean by truth in any column (SQLite stores true as 1 in a TEXT or untyped column)', () => {
    expect(sameValue(true, 1, col('other'))).toBe(true);
    expect(sameValue(false, 0, col('text'))).toBe(true);
    expect(sameValue(true, 'true', col('text'))).toBe(true);
    expect(sameValue(true, 0, col('other'))).toBe(false);
  });
  it('treats a missing value as NULL and text dates in a text column as text', () => {
    expect(sameValue(null, null, col('text'))).toBe(true);
    expect(sameValue(undefined, null, col('number'))).toBe(true);
    expect(sameValue('A', null, col('text'))).toBe(false);
    expect(sameValue('20240201', '20240201', col('text', true))).toBe(true);
  });
  it('is on by default for upsert and procedure modes only', () => {
    expect([readBackOn(undefined, 'upsert'), readBackOn(undefined, 'procedure'), readBackOn(undefined, 'insert'), readBackOn(undefined, undefined), readBackOn(true, 'insert'), readBackOn(false, 'upsert')]).toEqual([true, true, false, false, true, false]);
  });
});
