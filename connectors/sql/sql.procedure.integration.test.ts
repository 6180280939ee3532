/**
 * Procedure mode on PostgreSQL (a function and a procedure with an OUT
 * parameter) and MariaDB (a procedure with an OUT parameter), on the
 * DVLA-like schema: references from the call, business refusals raised by
 * the procedure or a trigger, no second call for a key already written,
 * read-back on by default.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Target } from '../connector.types.js';
import type { SqlProcedureConfig } from './sql.config.js';
import { sqlTarget, type SqlTargetConfig } from './sql.target.js';
import { legacyMariaDb, legacyPostgres, type LegacyDb, caseCtx as ctx, DRIVER, REVOKED, caseRecord as rec } from './sql.test-helpers.js';


const params = (out: boolean): SqlProcedureConfig['params'] => [
  { name: 'p_key', type: 'varchar(120)', from: '$key' },
  { name: 'p_type', type: 'char(3)', from: 'CASE_TYPE' },
  { name: 'p_web_ref', type: 'char(8)', from: 'WEB_REF' },
  { name: 'p_driver_no', type: 'char(16)', from: 'DRIVER_NO' },
  { name: 'p_surname', type: 'varchar(35)', from: 'SURNAME' },
  { name: 'p_forenames', type: 'varchar(35)', from: 'FORENAMES' },
  { name: 'p_postcode', type: 'varchar(8)', from: 'POSTCODE' },
  { name: 'p_move_date', type: 'char(10)', from: 'MOVE_DATE' },
  ...(out ? [{ name: 'p_case_id', type: 'integer', out: true }] : []),
];

const variants: [string, () => Promise<LegacyDb>, SqlProcedureConfig | ((db: LegacyDb) => SqlProcedureConfig)][] = [
  ['PostgreSQL function', legacyPostgres, (db) => ({ name: db.t('open_case'), kind: 'function', params: params(false) })],
  ['PostgreSQL procedure (OUT parameter)', legacyPostgres, (db) => ({ name: db.t('open_case_p'), params: params(true) })],
  ['MariaDB procedure (OUT parameter)', legacyMariaDb, { name: 'OPEN_CASE', params: params(true) }],
];

describe.each(variants)('sql target, mode procedure: %s', (_name, make, procedureOf) => {
  let db: LegacyDb;
  const targets: Target[] = [];
  beforeAll(async () => {
    db = await make();
    await db.query(`INSERT INTO ${db.t('drivers')} (DRIVER_NO, SURNAME, FORENAMES, DOB, STATUS) VALUES (?, 'MORGAN', 'SARAH', '1985-07-05', 'A'), (?, 'REVOKE', 'RON', '1970-01-01', 'R')`, [DRIVER, REVOKED]);
  }, 60_000);
  afterAll(async () => {
    for (const t of targets) await t.close();
    await db?.drop();
  });

  const open = async (config: Partial<SqlTargetConfig> = {}) => {
    const procedure = typeof procedureOf === 'function' ? procedureOf(db) : procedureOf;
    const t = sqlTarget.create({ url: db.url, table: db.t('cases'), keyColumn: 'SUBMISSION_KEY', refColumn: 'CASE_ID', mode: 'procedure', procedure, ...config }, { baseDir: '.', pipeline: 't' });
    targets.push(t);
    await t.connect(ctx);
    return t;
  };
  const caseIds = async (prefix: string) => (await db.query(`SELECT CASE_ID AS id FROM ${db.t('cases')} WHERE SUBMISSION_KEY LIKE ? ORDER BY CASE_ID`, [`${prefix}%`])).map((r) => String(r.id));

  it('calls once per record, takes the reference from the call, confirms by reading back, and rejects what the procedure or a trigger refuses', async () => {
    const t = await open();
    const out = await t.deliver([rec('p/1'), rec('p/2', { CASE_TYPE: 'PRV' }), rec('p/3', { DRIVER_NO: REVOKED }), rec('p/4', { SURNAME: "O'NEILL" })], ctx);
    const raised = db.dialect === 'postgres' ? 'the legacy database refused the record (code P0001)' : 'the legacy database refused the record';
    const ids = await caseIds('p/');
    expect(ids).toHaveLength(2);
    expect(out[0]).toEqual({ key: 'p/1', status: 'delivered', legacyRef: ids[0], confirmed: true });
    expect(out[1]).toEqual({ key: 'p/2', status: 'rejected', error: { code: 'SQL_CONSTRAINT', disposition: 'reject', message: raised, legacyText: 'PRIVATE PLATE CASES ARE KEYED BY THE PLATES TEAM' } });
    expect(out[2]).toEqual({
      key: 'p/3',
      status: 'rejected',
      error: { code: 'SQL_CONSTRAINT', disposition: 'reject', message: raised, legacyText: db.dialect === 'postgres' ? `DRIVER ${REVOKED} IS REVOKED: REFER TO REVOCATIONS` : 'DRIVER IS REVOKED: REFER TO REVOCATIONS' },
    });
    expect(out[3]).toEqual({ key: 'p/4', status: 'delivered', legacyRef: ids[1], confirmed: true });
  });

  it('does not call again for a key already in the table (a rerun after a crash), nor twice for one key in a batch', async () => {
    const t = await open();
    const [first] = await t.deliver([rec('again/1')], ctx);
    const out = await t.deliver([rec('again/1', {}, true), rec('again/2'), rec('again/2')], ctx);
    const ids = await caseIds('again/');
    expect(ids).toHaveLength(2);
    expect(out[0]).toEqual({ key: 'again/1', status: 'delivered', legacyRef: (first as { legacyRef: string }).legacyRef, alreadyPresent: true });
    expect(out[1]).toEqual({ key: 'again/2', status: 'delivered', legacyRef: ids[1], confirmed: true });
    expect(out[2]).toEqual({ key: 'again/2', status: 'delivered', legacyRef: ids[1], alreadyPresent: true });
  });

  it('refuses at connect a procedure mode without procedure:, and a parameter from a field the mapping lacks', async () => {
    await expect(open({ procedure: undefined })).rejects.toMatchObject({ code: 'SQL_SCHEMA', disposition: 'fatal', message: 'mode procedure needs procedure: (name and params)' });
    const t = sqlTarget.create(
      { url: db.url, table: db.t('cases'), keyColumn: 'SUBMISSION_KEY', mode: 'procedure', procedure: { name: 'OPEN_CASE', params: [{ name: 'p_key', type: 'varchar(120)', from: 'REFERENCE' }] } },
      { baseDir: '.', pipeline: 't', mapping: { name: 'm', fields: [{ name: 'CASE_TYPE', transform: [], required: false, pii: false }] } },
    );
    await expect(t.connect(ctx)).rejects.toMatchObject({ code: 'SQL_SCHEMA', message: 'procedure OPEN_CASE parameter p_key: the mapping has no field REFERENCE' });
  });
});
