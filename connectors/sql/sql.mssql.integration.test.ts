/**
 * The `sql` target against a real SQL Server, which cannot run on the
 * machines this project is built on: these tests run only when
 * REKEY_TEST_MSSQL_URL is set (see docs/sql-target.md for a container),
 * and are reported as skipped, with the reason in their name, otherwise.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Target } from '../connector.types.js';
import type { FieldSpec } from '../../mappings/mapping.types.js';
import { sqlTarget, type SqlTargetConfig } from './sql.target.js';
import { SqlSchemaFailure, type CheckedMapping } from './sql.mapping-check.js';
import { legacyMssql, MSSQL_URL, type LegacyDb, caseCtx as ctx, DRIVER, REVOKED, caseRecord as rec } from './sql.test-helpers.js';


describe.skipIf(!MSSQL_URL)('sql target on SQL Server (skipped unless REKEY_TEST_MSSQL_URL names a server)', () => {
  let db: LegacyDb;
  const targets: Target[] = [];
  beforeAll(async () => {
    db = await legacyMssql();
    await db.query(`INSERT INTO DRIVERS (DRIVER_NO, SURNAME, FORENAMES, DOB, STATUS) VALUES (?, 'MORGAN', 'SARAH', '1985-07-05', 'A'), (?, 'REVOKE', 'RON', '1970-01-01', 'R')`, [DRIVER, REVOKED]);
  }, 120_000);
  afterAll(async () => {
    for (const t of targets) await t.close();
    await db?.drop();
  });

  const open = async (config: Partial<SqlTargetConfig> = {}, mapping?: CheckedMapping) => {
    const t = sqlTarget.create({ url: db.url, table: 'CASES', keyColumn: 'SUBMISSION_KEY', ...config }, { baseDir: '.', pipeline: 't', ...(mapping && { mapping: { name: 'm', ...mapping } }) });
    targets.push(t);
    await t.connect(ctx);
    return t;
  };
  const count = async (prefix: string) => Number((await db.query(`SELECT COUNT(*) AS n FROM CASES WHERE SUBMISSION_KEY LIKE ?`, [`${prefix}%`]))[0]?.n);

  it('inserts, reads back the identity, isolates refused rows with the server’s message, and never inserts a key twice', async () => {
    const t = await open({ bulkLoad: false });
    const out = await t.deliver([rec('ins/1'), rec('ins/2', { SURNAME: 'morgan' }), rec('ins/3', { DRIVER_NO: REVOKED }), rec('ins/4')], ctx);
    expect(out.map((o) => o.status)).toEqual(['delivered', 'rejected', 'rejected', 'delivered']);
    expect(out[1]).toMatchObject({ error: { code: 'SQL_CONSTRAINT', disposition: 'reject' } });
    expect((out[1] as { error: { message: string } }).error.message).toMatch(/CHECK constraint/);
    expect(out[2]).toEqual({ key: 'ins/3', status: 'rejected', error: { code: 'SQL_CONSTRAINT', disposition: 'reject', message: 'the legacy database refused the record', legacyText: 'DRIVER IS REVOKED: REFER TO REVOCATIONS' } });
    const again = await t.deliver([rec('ins/1', {}, true)], ctx);
    expect(again[0]).toMatchObject({ status: 'delivered', alreadyPresent: true, legacyRef: (out[0] as { legacyRef: string }).legacyRef });
    expect(await count('ins/')).toBe(2);
  });

  it('bulk-inserts many new rows through mssql (constraints and triggers in force); a refused row falls back to INSERT statements that isolate it', async () => {
    const t = await open();
    const good = await t.deliver(Array.from({ length: 300 }, (_, i) => rec(`bulk/${i}`)), ctx);
    expect(good.every((o) => o.status === 'delivered' && /^\d+$/.test(o.legacyRef ?? ''))).toBe(true);
    expect(await count('bulk/')).toBe(300);
    const mixed = await t.deliver(Array.from({ length: 200 }, (_, i) => rec(`mix/${i}`, i === 50 ? { SURNAME: 'lower' } : i === 150 ? { DRIVER_NO: REVOKED } : {})), ctx);
    expect(mixed.filter((o) => o.status === 'rejected').map((o) => o.key)).toEqual(['mix/50', 'mix/150']);
    expect(await count('mix/')).toBe(198);
  });

  it('upsert updates in place and confirms by read-back; update rejects a missing row', async () => {
    await (await open()).deliver([rec('ups/1')], ctx);
    const up = await open({ mode: 'upsert' });
    const out = await up.deliver([rec('ups/1', { POSTCODE: 'CF10 1AA' }), rec('ups/2')], ctx);
    expect(out.map((o) => o.status === 'delivered' && o.confirmed)).toEqual([true, true]);
    const upd = await open({ mode: 'update' });
    expect((await upd.deliver([rec('ups/404')], ctx))[0]).toMatchObject({ status: 'rejected', error: { code: 'SQL_NO_ROW' } });
    expect(await count('ups/')).toBe(2);
  });

  it('procedure mode: typed parameters through mssql, the reference from the OUTPUT parameter, THROW as a business rejection, no second call for a known key', async () => {
    const params = [
      ['P_KEY', 'varchar(120)', '$key'],
      ['P_TYPE', 'char(3)', 'CASE_TYPE'],
      ['P_WEB_REF', 'char(8)', 'WEB_REF'],
      ['P_DRIVER_NO', 'char(16)', 'DRIVER_NO'],
      ['P_SURNAME', 'varchar(35)', 'SURNAME'],
      ['P_FORENAMES', 'nvarchar(35)', 'FORENAMES'],
      ['P_POSTCODE', 'varchar(8)', 'POSTCODE'],
      ['P_MOVE_DATE', 'char(10)', 'MOVE_DATE'],
    ].map(([name, type, from]) => ({ name: name as string, type: type as string, from: from as string }));
    const t = await open({ mode: 'procedure', refColumn: 'CASE_ID', procedure: { name: 'OPEN_CASE', params: [...params, { name: 'P_CASE_ID', type: 'int', out: true }] } });
    const out = await t.deliver([rec('proc/1'), rec('proc/2', { CASE_TYPE: 'PRV' })], ctx);
    const [row] = await db.query(`SELECT CASE_ID AS id FROM CASES WHERE SUBMISSION_KEY = 'proc/1'`);
    expect(out[0]).toEqual({ key: 'proc/1', status: 'delivered', legacyRef: String(row?.id), confirmed: true });
    expect(out[1]).toEqual({ key: 'proc/2', status: 'rejected', error: { code: 'SQL_CONSTRAINT', disposition: 'reject', message: 'the legacy database refused the record', legacyText: 'PRIVATE PLATE CASES ARE KEYED BY THE PLATES TEAM' } });
    expect((await t.deliver([rec('proc/1', {}, true)], ctx))[0]).toMatchObject({ status: 'delivered', alreadyPresent: true });
    expect(await count('proc/')).toBe(1);
  });

  it('parent and child rows: the identity from OUTPUT INSERTED reaches the children; a refused child undoes its parent', async () => {
    const t = await open({ children: { PREV_ADDR: { table: 'ADDRESSES', parentColumn: 'CASE_ID' } } });
    const addr = (line: string) => ({ ADDR_KIND: 'P', LINE_1: line, TOWN: 'Cardiff', POSTCODE: 'CF10 1AA' });
    const out = await t.deliver([{ ...rec('fam/1'), children: { PREV_ADDR: [addr('1 HIGH ST'), addr('2 LOW RD')] } }, { ...rec('fam/2'), children: { PREV_ADDR: [addr('lower')] } }], ctx);
    expect(out.map((o) => o.status)).toEqual(['delivered', 'rejected']);
    const rows = await db.query(`SELECT COUNT(*) AS n FROM ADDRESSES WHERE CASE_ID = ?`, [Number((out[0] as { legacyRef: string }).legacyRef)]);
    expect(Number(rows[0]?.n)).toBe(2);
    expect(await count('fam/')).toBe(1);
  });

  it('read-back compares child rows: rows as sent confirm; a trigger rewriting a child value is named by group, row and field, and every row is kept', async () => {
    const t = await open({ children: { PREV_ADDR: { table: 'ADDRESSES', parentColumn: 'CASE_ID' } }, readBack: true });
    const addr = (line: string, town = 'CARDIFF') => ({ ADDR_KIND: 'P', LINE_1: line, TOWN: town, POSTCODE: 'CF10 1AA' });
    const same = await t.deliver([{ ...rec('rbc/1'), children: { PREV_ADDR: [addr('1 HIGH ST'), addr('2 LOW RD')] } }], ctx);
    expect(same).toEqual([{ key: 'rbc/1', status: 'delivered', legacyRef: expect.stringMatching(/^\d+$/), confirmed: true }]);
    await db.query('CREATE TRIGGER ADDRESSES_TOWN_UPPER ON ADDRESSES AFTER INSERT AS UPDATE a SET TOWN = UPPER(a.TOWN) FROM ADDRESSES a JOIN inserted i ON i.ADDRESS_ID = a.ADDRESS_ID');
    try {
      const out = await t.deliver([{ ...rec('rbc/2'), children: { PREV_ADDR: [addr('1 HIGH ST'), addr('2 LOW RD', 'Cardiff')] } }], ctx);
      expect(out).toEqual([{ key: 'rbc/2', status: 'delivered', legacyRef: expect.stringMatching(/^\d+$/), confirmed: false, mismatches: ['PREV_ADDR[2].TOWN'] }]);
      const rows = await db.query('SELECT LINE_1 AS line, TOWN AS town FROM ADDRESSES WHERE CASE_ID = ? ORDER BY ADDRESS_ID', [Number((out[0] as { legacyRef: string }).legacyRef)]);
      expect(rows).toEqual([
        { line: '1 HIGH ST', town: 'CARDIFF' },
        { line: '2 LOW RD', town: 'CARDIFF' },
      ]);
    } finally {
      await db.query('DROP TRIGGER ADDRESSES_TOWN_UPPER');
    }
  });

  it('checks each group’s fields against its child table at connect, as the parent’s against CASES', async () => {
    const field = (name: string, extra: Partial<FieldSpec> = {}): FieldSpec => ({ name, transform: [], required: false, pii: false, ...extra });
    const parent = ['CASE_TYPE', 'WEB_REF', 'DRIVER_NO', 'SURNAME', 'FORENAMES', 'POSTCODE', 'MOVE_DATE'].map((f) => field(f));
    const children = { PREV_ADDR: { table: 'ADDRESSES', parentColumn: 'CASE_ID' } };
    const fits = await open({ children }, { fields: parent, groups: [{ name: 'PREV_ADDR', fields: ['ADDR_KIND', 'LINE_1', 'TOWN', 'POSTCODE'].map((f) => field(f)) }] });
    expect(fits).toBeDefined();
    const bad = [field('ADDR_KIND'), field('CITY'), field('POSTCODE', { validate: { length: 10 } }), field('CASE_ID'), field('ADDRESS_ID')];
    const e = await open({ children }, { fields: parent, groups: [{ name: 'PREV_ADDR', fields: bad }] }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(SqlSchemaFailure);
    expect((e as SqlSchemaFailure).problems.map((p) => p.message)).toEqual([
      'mapping field PREV_ADDR[].CITY: table dbo.ADDRESSES has no column CITY (name another in children.PREV_ADDR.columns:)',
      'mapping field PREV_ADDR[].POSTCODE: can be 10 characters long (validate length 10); column dbo.ADDRESSES.POSTCODE (char(8)) holds at most 8',
      "mapping field PREV_ADDR[].CASE_ID: column dbo.ADDRESSES.CASE_ID (int) takes the parent row's identity; the field would overwrite it",
      'mapping field PREV_ADDR[].ADDRESS_ID: column dbo.ADDRESSES.ADDRESS_ID (int) is generated by the database (identity, auto-increment or computed) and cannot be written',
      'column dbo.ADDRESSES.LINE_1 (varchar(30)) is NOT NULL without a default, and no mapping field of group PREV_ADDR writes it',
      'column dbo.ADDRESSES.TOWN (varchar(30)) is NOT NULL without a default, and no mapping field of group PREV_ADDR writes it',
    ]);
  });
});
