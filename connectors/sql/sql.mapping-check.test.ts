import { describe, expect, it } from 'vitest';
import type { FieldSpec } from '../../mappings/mapping.types.js';
import type { ColumnInfo } from './sql.config.js';
import { checkMapping } from './sql.mapping-check.js';

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
