/**
 * Read-back confirmation on PostgreSQL and MariaDB: a trigger that
 * rewrites a value, MariaDB in non-strict mode clipping a number, CHAR
 * padding and dates that match once normalised; the log names fields,
 * never values.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ctx, MappedRecord, Target } from '../connector.types.js';
import { sqlTarget, type SqlTargetConfig } from './sql.target.js';
import { legacyMariaDb, legacyPostgres, loggedCtx, type LegacyDb } from './sql.test-helpers.js';


const driver = (key: string, no: string, over: Record<string, unknown> = {}): MappedRecord => ({
  key,
  record: { DRIVER_NO: no, SURNAME: 'GWYNEDD-JONES', FORENAMES: 'ELIN', TITLE: 'MS', DOB: '1990-03-14', POSTCODE: 'LL55 4UR', ...over },
  children: {},
  mappingVersion: 'sha256:x',
  uncertain: false,
});

describe.each([
  ['PostgreSQL', legacyPostgres],
  ['MariaDB', legacyMariaDb],
])('sql target on %s: read-back confirmation', (name, make) => {
  let db: LegacyDb;
  const targets: Target[] = [];
  beforeAll(async () => {
    db = await make();
  }, 60_000);
  afterAll(async () => {
    for (const t of targets) await t.close();
    await db?.drop();
  });

  const open = async (config: Partial<SqlTargetConfig>, ctx: Ctx) => {
    const t = sqlTarget.create({ url: db.url, table: db.t('drivers'), keyColumn: 'SUBMISSION_KEY', ...config }, { baseDir: '.', pipeline: 't' });
    targets.push(t);
    await t.connect(ctx);
    return t;
  };

  it('upsert confirms by default: CHAR padding and dates match; a value a trigger rewrote is delivered unconfirmed, naming the field only', async () => {
    const { ctx, text: lines } = loggedCtx();
    const t = await open({ mode: 'upsert', matchOn: 'DRIVER_NO' }, ctx);
    const out = await t.deliver([driver('rb/1', 'GWYNE903144E99AB'), driver('rb/2', 'GWYNE903144E99AC', { TITLE: 'MX' })], ctx);
    expect(out).toEqual([
      { key: 'rb/1', status: 'delivered', legacyRef: expect.stringMatching(/^\d+$/), confirmed: true },
      { key: 'rb/2', status: 'delivered', legacyRef: expect.stringMatching(/^\d+$/), confirmed: false, mismatches: ['TITLE'] },
    ]);
    const [row] = await db.query(`SELECT TITLE AS title FROM ${db.t('drivers')} WHERE DRIVER_NO = ?`, ['GWYNE903144E99AC']);
    expect(String(row?.title).trimEnd()).toBe('OTH');
    const log = lines();
    expect(log).toContain('"fields":["TITLE"]');
    expect(log).toContain('read-back differs');
    expect(log).not.toContain('GWYNEDD');
    expect(log).not.toContain('LL55');

    const updated = await t.deliver([driver('rb/3', 'GWYNE903144E99AB', { TITLE: 'MX', POSTCODE: 'CF10 1AA' })], ctx);
    expect(updated).toEqual([{ key: 'rb/3', status: 'delivered', legacyRef: (out[0] as { legacyRef: string }).legacyRef, confirmed: false, mismatches: ['TITLE'] }]);
  });

  it('insert mode confirms only when asked; a key already present is not read back', async () => {
    const { ctx } = loggedCtx();
    const plain = await open({}, ctx);
    expect(await plain.deliver([driver('rb/10', 'PLAIN903144E99AB')], ctx)).toEqual([{ key: 'rb/10', status: 'delivered', legacyRef: expect.stringMatching(/^\d+$/) }]);
    const asked = await open({ readBack: true }, ctx);
    const out = await asked.deliver([driver('rb/11', 'ASKED903144E99AB'), driver('rb/10', 'PLAIN903144E99AB')], ctx);
    expect(out[0]).toMatchObject({ status: 'delivered', confirmed: true });
    expect(out[1]).toEqual({ key: 'rb/10', status: 'delivered', legacyRef: expect.stringMatching(/^\d+$/), alreadyPresent: true });
  });

  it('CHAR padding: a business key shorter than its CHAR(16) column finds its row and reads back equal; an upper-case-only column names the field', async () => {
    const { ctx } = loggedCtx();
    const ups = await open({ mode: 'upsert', matchOn: 'DRIVER_NO' }, ctx);
    expect((await ups.deliver([driver('pad/1', 'SHORT1')], ctx))[0]).toMatchObject({ status: 'delivered', confirmed: true });
    const [stored] = await db.query(`SELECT DRIVER_NO AS no FROM ${db.t('drivers')} WHERE SUBMISSION_KEY = 'pad/1'`);
    if (name === 'PostgreSQL') expect(stored?.no).toBe('SHORT1          ');
    const upd = await open({ mode: 'update', matchOn: 'DRIVER_NO', readBack: true }, ctx);
    const out = [
      ...(await upd.deliver([{ ...driver('pad/2', 'SHORT1'), record: { DRIVER_NO: 'SHORT1', POSTCODE: 'CF10 1AA' } }], ctx)),
      ...(await upd.deliver([{ ...driver('pad/3', 'SHORT1'), record: { DRIVER_NO: 'SHORT1', SURNAME: 'lower' } }], ctx)),
    ];
    expect(out[0]).toMatchObject({ status: 'delivered', legacyRef: expect.stringMatching(/^\d+$/), confirmed: true });
    expect(out[1]).toMatchObject({ status: 'rejected', error: { code: 'SQL_CONSTRAINT', field: 'SURNAME' } });
  });

  it.runIf(name === 'MariaDB')('an out-of-range number is refused before it is sent, also where MariaDB in non-strict mode would clip it silently', async () => {
    const { ctx, text: lines } = loggedCtx();
    const rec = (key: string): MappedRecord => ({
      key,
      record: { CASE_TYPE: 'COA', WEB_REF: 'WEB00001', DRIVER_NO: 'FEE00657054SM9IJ', SURNAME: 'MORGAN', FORENAMES: 'SARAH', POSTCODE: 'SW1A 1AA', MOVE_DATE: '01.02.2024', FEE: 123456.78 },
      children: {},
      mappingVersion: 'x',
      uncertain: false,
    });
    for (const [key, sqlMode] of [['nonstrict/1', ''], ['strict/1', undefined]] as const) {
      const t = await open({ table: db.t('cases'), readBack: true, ...(sqlMode !== undefined && { sqlMode }) }, ctx);
      const [refused] = await t.deliver([rec(key)], ctx);
      expect(refused).toMatchObject({ key, status: 'rejected', error: { code: 'SQL_VALUE', field: 'FEE', message: expect.stringMatching(/^field FEE has 6 digits before the point; column \S+\.FEE \(decimal\(\d+,2\)\) holds at most \d+$/) } });
    }
    expect(await db.query(`SELECT FEE AS fee FROM ${db.t('cases')} WHERE SUBMISSION_KEY IN ('nonstrict/1', 'strict/1')`)).toEqual([]);
    expect(lines()).not.toContain('123456');
  });
});
