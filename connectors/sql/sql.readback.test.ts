import { describe, expect, it } from 'vitest';
import sqlite3 from 'sqlite3';
import type { MappedRecord } from '../connector.types.js';
import type { ColumnInfo, SqlChildSpec, SqlTableSpec } from './sql.config.js';
import { childRowMismatches, confirmByReadBack, readBackOn, sameValue } from './sql.readback.js';
import { SqliteConnection } from './sqlite.connection.js';
import { sqliteDialect } from './sqlite.dialect.js';

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

const named = (name: string, family: ColumnInfo['family'], fixed = false): [string, ColumnInfo] => [name, { ...col(family, fixed), name }];
const addresses = (order?: string): SqlChildSpec => ({
  table: 'ADDRESSES',
  parentColumn: 'CASE_ID',
  columns: { LINE1: 'LINE_1' },
  known: new Set(['ADDRESS_ID', 'CASE_ID', 'LINE_1', 'TOWN', 'POSTCODE', 'FROM_DATE']),
  info: new Map([named('ADDRESS_ID', 'number'), named('CASE_ID', 'number'), named('LINE_1', 'text'), named('TOWN', 'text'), named('POSTCODE', 'text', true), named('FROM_DATE', 'date')]),
  ...(order && { order }),
});
const sent = (children: Record<string, Record<string, unknown>[]>, record: Record<string, unknown> = { SURNAME: 'MORGAN' }): MappedRecord => ({ key: 'k/1', record, children, mappingVersion: 'sha256:x', uncertain: false });
const address = (line: string, over: Record<string, unknown> = {}) => ({ LINE1: line, TOWN: 'CARDIFF', POSTCODE: 'CF10 1AA', FROM_DATE: '2019-01-01', ...over });
const stored = (line: string, over: Record<string, unknown> = {}) => ({ LINE_1: line, TOWN: 'CARDIFF', POSTCODE: 'CF10 1AA', FROM_DATE: new Date(2019, 0, 1), ...over });

describe('read-back comparison of child rows', () => {
  const three = [address('1 HIGH ST'), address('2 LOW RD', { POSTCODE: 'CF5' }), address('3 MILL LANE', { FROM_DATE: null })];
  const read = [stored('1 HIGH ST'), stored('2 LOW RD', { POSTCODE: 'CF5     ' }), stored('3 MILL LANE', { FROM_DATE: null })];

  it('finds nothing when every row reads back equal, with the parent comparison’s normalising (CHAR padding, dates, NULL)', () => {
    expect(childRowMismatches(sent({ PREV_ADDR: three }), { PREV_ADDR: addresses('ADDRESS_ID') }, read)).toEqual([]);
    expect(childRowMismatches(sent({ PREV_ADDR: [] }), { PREV_ADDR: addresses('ADDRESS_ID') }, [])).toEqual([]);
  });

  it('names a changed value by group, row index and field (the field, not the column, where they differ)', () => {
    const changed = [read[0], stored('2 LOW RD', { POSTCODE: 'CF5 1XX ' }), stored('3 MILL LANE', { LINE_1: '3 MILL LN', FROM_DATE: null })] as Record<string, unknown>[];
    expect(childRowMismatches(sent({ PREV_ADDR: three }), { PREV_ADDR: addresses('ADDRESS_ID') }, changed)).toEqual(['PREV_ADDR[2].POSTCODE', 'PREV_ADDR[3].LINE1']);
  });

  it('names each field of a row sent but not read back, and a row read back but not sent by its index', () => {
    expect(childRowMismatches(sent({ PREV_ADDR: three }), { PREV_ADDR: addresses('ADDRESS_ID') }, read.slice(0, 2))).toEqual(['PREV_ADDR[3].LINE1', 'PREV_ADDR[3].TOWN', 'PREV_ADDR[3].POSTCODE', 'PREV_ADDR[3].FROM_DATE']);
    expect(childRowMismatches(sent({ PREV_ADDR: three.slice(0, 2) }), { PREV_ADDR: addresses('ADDRESS_ID') }, read)).toEqual(['PREV_ADDR[3]']);
    expect(childRowMismatches(sent({}), { PREV_ADDR: addresses('ADDRESS_ID') }, read.slice(0, 1))).toEqual(['PREV_ADDR[1]']);
  });

  it('pairs rows by position where the table has an order column, by value where it has none', () => {
    const swapped = [read[1], read[0], read[2]] as Record<string, unknown>[];
    expect(childRowMismatches(sent({ PREV_ADDR: three }), { PREV_ADDR: addresses('ADDRESS_ID') }, swapped)).toEqual(['PREV_ADDR[1].LINE1', 'PREV_ADDR[1].POSTCODE', 'PREV_ADDR[2].LINE1', 'PREV_ADDR[2].POSTCODE']);
    expect(childRowMismatches(sent({ PREV_ADDR: three }), { PREV_ADDR: addresses() }, swapped)).toEqual([]);
    const oneChanged = [stored('3 MILL LANE', { FROM_DATE: null }), stored('1 HIGH ST', { TOWN: 'SWANSEA' }), read[1]] as Record<string, unknown>[];
    expect(childRowMismatches(sent({ PREV_ADDR: three }), { PREV_ADDR: addresses() }, oneChanged)).toEqual(['PREV_ADDR[1].TOWN']);
    expect(childRowMismatches(sent({ PREV_ADDR: three }), { PREV_ADDR: addresses() }, [...swapped, stored('4 NEW RD')])).toEqual(['PREV_ADDR[4]']);
  });

  it('reads the rows of two groups sharing a table in the order the writer inserted them, group by group, each with its own field names', () => {
    const groups = { PREV_ADDR: addresses('ADDRESS_ID'), NEW_ADDR: { ...addresses('ADDRESS_ID'), columns: { LINE: 'LINE_1' } } };
    const rec = sent({ NEW_ADDR: [{ LINE: '9 PARK RD', TOWN: 'CARDIFF', POSTCODE: 'CF10 1AA', FROM_DATE: '2019-01-01' }], PREV_ADDR: [address('1 HIGH ST')] });
    expect(childRowMismatches(rec, groups, [stored('9 PARK RD'), stored('1 HIGH ST')])).toEqual([]);
    expect(childRowMismatches(rec, groups, [stored('9 PARK RD', { LINE_1: '9 PARK ROAD' }), stored('1 HIGH ST', { TOWN: 'X' }), stored('5 X')])).toEqual(['NEW_ADDR[1].LINE', 'PREV_ADDR[1].TOWN', 'PREV_ADDR[2]']);
  });
});

describe('read-back of a parent with child rows, on a SQLite database in memory', () => {
  const open = () => new Promise<sqlite3.Database>((ok, ko) => {
    const d = new sqlite3.Database(':memory:', (e) => (e ? ko(e) : ok(d)));
  });

  it('confirms a record whose child rows read back equal, and lists the parent’s fields then the child rows’ of one that differs', async () => {
    const db = await open();
    const conn = new SqliteConnection(db);
    await conn.execute(`CREATE TABLE CASES (CASE_ID INTEGER PRIMARY KEY, SUBMISSION_KEY TEXT UNIQUE, SURNAME TEXT, TITLE TEXT);
      CREATE TABLE ADDRESSES (ADDRESS_ID INTEGER PRIMARY KEY, CASE_ID INTEGER, LINE_1 TEXT, TOWN TEXT, POSTCODE CHAR(8), FROM_DATE DATE);
      INSERT INTO CASES VALUES (1, 'k/1', 'MORGAN', 'MS'), (2, 'k/2', 'JONES', 'DR');
      INSERT INTO ADDRESSES (CASE_ID, LINE_1, TOWN, POSTCODE, FROM_DATE) VALUES
        (1, '1 HIGH ST', 'CARDIFF', 'CF10 1AA', '2019-01-01'), (1, '2 LOW RD', 'CARDIFF', 'CF5', '2019-01-01'),
        (2, '1 HIGH ST', 'CARDIFF', 'CF10 1AA', '2019-01-01'), (2, '2 LOW RD', 'CARDIFF', 'CF99 9ZZ', '2019-01-01'), (2, '7 EXTRA RD', 'CARDIFF', 'CF1', NULL)`);
    const columns = ['CASE_ID', 'SUBMISSION_KEY', 'SURNAME', 'TITLE'];
    const spec: SqlTableSpec = {
      table: 'CASES',
      keyColumn: 'SUBMISSION_KEY',
      refExpr: 'rowid',
      columns: {},
      known: new Set(columns),
      batchSize: 100,
      info: new Map(columns.map((c) => named(c, c === 'CASE_ID' ? 'number' : 'text'))),
      ref: { column: 'rowid', generated: true },
      children: { PREV_ADDR: addresses('rowid') },
    };
    const two = [address('1 HIGH ST'), address('2 LOW RD', { POSTCODE: 'CF5' })];
    const batch = [sent({ PREV_ADDR: two }, { SURNAME: 'MORGAN', TITLE: 'MS' }), { ...sent({ PREV_ADDR: two }, { SURNAME: 'JONES', TITLE: 'MR' }), key: 'k/2' }];
    const out = await confirmByReadBack((sql, params) => conn.select(sql, params), sqliteDialect, spec, batch, [
      { key: 'k/1', status: 'delivered', legacyRef: '1' },
      { key: 'k/2', status: 'delivered', legacyRef: '2' },
    ]);
    expect(out).toEqual([
      { key: 'k/1', status: 'delivered', legacyRef: '1', confirmed: true },
      { key: 'k/2', status: 'delivered', legacyRef: '2', confirmed: false, mismatches: ['TITLE', 'PREV_ADDR[2].POSTCODE', 'PREV_ADDR[3]'] },
    ]);
    await conn.close();
    await new Promise<void>((ok, ko) => db.close((e) => (e ? ko(e) : ok())));
  });
});
