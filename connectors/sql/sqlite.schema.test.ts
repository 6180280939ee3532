import { describe, expect, it } from 'vitest';
import { sqliteColumnRows, sqliteColumns, tableXinfoSql } from './sqlite.schema.js';

const row = (name: string, type: string, over: Record<string, unknown> = {}) => ({ name, type, notnull: 0, dflt_value: null, pk: 0, hidden: 0, ...over });

describe('SQLite columns as the checks take them', () => {
  it('reads family and declared length from the declared type; NOT NULL, default; SQLite never pads', () => {
    const [id, key, surname, dob, fee, flag, any] = sqliteColumns(
      sqliteColumnRows([
        row('CASE_ID', 'INTEGER', { pk: 1 }),
        row('SUBMISSION_KEY', 'TEXT', { notnull: 1 }),
        row('SURNAME', 'CHAR(35)', { notnull: 1 }),
        row('DOB', 'DATE'),
        row('FEE', 'DECIMAL(7, 2)'),
        row('WELSH', 'BOOLEAN', { notnull: 1, dflt_value: '0' }),
        row('X', ''),
      ]),
    );
    expect(id).toEqual({ name: 'CASE_ID', type: 'INTEGER', family: 'number', fixed: false, nullable: true, hasDefault: false, generated: true });
    expect(key).toEqual({ name: 'SUBMISSION_KEY', type: 'TEXT', family: 'text', fixed: false, nullable: false, hasDefault: false, generated: false });
    expect(surname).toMatchObject({ family: 'text', maxLength: 35, fixed: false, nullable: false });
    expect([dob?.family, fee?.family, fee?.maxLength, flag?.family, flag?.hasDefault]).toEqual(['date', 'number', undefined, 'boolean', true]);
    expect(any).toMatchObject({ type: 'ANY', family: 'other' });
  });

  it('marks generated columns and only a sole INTEGER PRIMARY KEY as assigned by SQLite; leaves out hidden columns of virtual tables', () => {
    const cols = sqliteColumns(sqliteColumnRows([row('A', 'INT', { pk: 1 }), row('B', 'TEXT', { pk: 2 }), row('C', 'TEXT', { hidden: 2 }), row('D', 'TEXT', { hidden: 3 }), row('E', 'TEXT', { hidden: 1 })]));
    expect(cols.map((c) => [c.name, c.generated])).toEqual([
      ['A', false],
      ['B', false],
      ['C', true],
      ['D', true],
    ]);
  });

  it('reads a table of another schema', () => {
    expect(tableXinfoSql('CASES')).toBe('pragma table_xinfo("CASES")');
    expect(tableXinfoSql('legacy.CASES')).toBe('pragma "legacy".table_xinfo("CASES")');
  });
});
