import { describe, expect, it } from 'vitest';
import type { FieldSpec } from '../../mappings/mapping.types.js';
import type { ColumnInfo, SqlTableSpec } from './sql.config.js';
import { checkMapping, checkTarget } from './sql.mapping-check.js';

const field = (name: string, to: string): FieldSpec => ({ name, transform: [{ name: 'date', args: { from: 'dd/MM/yyyy', to } }], required: false, pii: false });
const char = (name: string, n: number): ColumnInfo => ({ name, type: `character(${n})`, family: 'text', maxLength: n, fixed: true, nullable: true, hasDefault: false, generated: false });

describe('dates kept as text in legacy CHAR columns', () => {
  const table = { table: 'legacy.licences', columns: [char('VALID_TO', 8), char('MOVE_DATE', 10)], rename: {}, mode: 'insert' as const };
  it('accepts a date formatted to fit: yyyyMMdd into CHAR(8), dd.MM.yyyy into CHAR(10)', () => {
    expect(checkMapping([field('VALID_TO', 'yyyyMMdd'), field('MOVE_DATE', 'dd.MM.yyyy')], table)).toEqual([]);
  });
  it('names field and column when the formatted date is longer than the column', () => {
    expect(checkMapping([field('VALID_TO', 'dd.MM.yyyy')], table)).toEqual([
      { message: 'mapping field VALID_TO: is a date formatted dd.MM.yyyy (10 characters), longer than column type character(8) holds (column legacy.licences.VALID_TO (character(8)))', field: 'VALID_TO', column: 'VALID_TO' },
    ]);
  });
});

describe('child tables', () => {
  const plain = (name: string): FieldSpec => ({ name, transform: [], required: false, pii: false });
  const col = (name: string, nullable = true): ColumnInfo => ({ name, type: 'varchar(30)', family: 'text', maxLength: 30, fixed: false, nullable, hasDefault: false, generated: false });
  const info = (...cols: ColumnInfo[]) => new Map(cols.map((c) => [c.name.toUpperCase(), c]));
  const spec: SqlTableSpec = {
    table: 'CASES',
    keyColumn: 'K',
    refExpr: '"ID"',
    columns: {},
    known: new Set(['K', 'A']),
    batchSize: 100,
    info: info(col('K', false), col('A')),
    children: { PREV: { table: 'ADDRS', parentColumn: 'CASE_ID', columns: {}, known: new Set(['CASE_ID', 'LINE']), info: info(col('CASE_ID', false), col('LINE', false)) } },
  };
  it('counts the parent column as written, and checks nothing of the groups when the mapping does not hand them over', () => {
    expect(checkTarget({ fields: [plain('A')], groups: [{ name: 'PREV', fields: [plain('LINE')] }] }, spec)).toEqual([]);
    expect(checkTarget({ fields: [plain('A')] }, spec)).toEqual([]);
  });
  it('reports a child table for a group the mapping lacks, and (insert mode) a group no table takes', () => {
    expect(checkTarget({ fields: [plain('A')], groups: [{ name: 'VEHICLES', fields: [plain('VRM')] }] }, spec).map((p) => p.message)).toEqual([
      'children.PREV: the mapping has no group PREV (its groups: VEHICLES)',
      'mapping group VEHICLES: no table takes its rows (name one under children:)',
    ]);
  });
});
