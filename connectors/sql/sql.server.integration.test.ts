import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FieldSpec } from '../../mappings/mapping.types.js';
import { ConnectorFailure } from '../connector.errors.js';
import { sqlTarget, type SqlTargetConfig } from './sql.target.js';
import type { SqlSchemaFailure } from './sql.mapping-check.js';
import { legacyMariaDb, legacyPostgres, type LegacyDb, caseCtx as ctx, DRIVER, REVOKED, caseRecord as rec } from './sql.test-helpers.js';


const field = (name: string, extra: Partial<FieldSpec> = {}): FieldSpec => ({ name, transform: [], required: false, pii: false, pos: { file: 'm.yaml', line: 3, col: 3 }, ...extra });

describe.each([
  ['PostgreSQL', legacyPostgres],
  ['MariaDB', legacyMariaDb],
])('sql target on %s (DVLA-like legacy schema)', (_name, make) => {
  let db: LegacyDb;
  beforeAll(async () => {
    db = await make();
    await db.query(`INSERT INTO ${db.t('drivers')} (DRIVER_NO, SURNAME, FORENAMES, DOB, STATUS) VALUES (?, 'MORGAN', 'SARAH', '1985-07-05', 'A'), (?, 'REVOKE', 'RON', '1970-01-01', 'R')`, [DRIVER, REVOKED]);
  }, 60_000);
  afterAll(() => db?.drop());

  const pg = () => db.dialect === 'postgres';
  const cases = () => db.t('cases');
  const open = async (config: Partial<SqlTargetConfig> = {}, fields?: FieldSpec[]) => {
    const t = sqlTarget.create({ url: db.url, table: cases(), keyColumn: 'SUBMISSION_KEY', ...config }, { baseDir: '.', pipeline: 't', ...(fields && { mapping: { name: 'm', fields } }) });
    await t.connect(ctx);
    return t;
  };
  const row = async (key: string) => (await db.query(`SELECT * FROM ${cases()} WHERE SUBMISSION_KEY = ?`, [key]))[0] as Record<string, unknown> | undefined;
  const countOf = async (prefix: string) => Number((await db.query(`SELECT COUNT(*) AS n FROM ${cases()} WHERE SUBMISSION_KEY LIKE ?`, [`${prefix}%`]))[0]?.n);

  it('inserts, reads back the identity as the legacy reference, and never inserts a key twice', async () => {
    const t = await open();
    const first = await t.deliver([rec('ins/1'), rec('ins/2', { SURNAME: 'NÍ BHRIAIN' })], ctx);
    expect(first.map((o) => o.status)).toEqual(['delivered', 'delivered']);
    const refs = first.map((o) => (o.status === 'delivered' ? o.legacyRef : undefined));
    expect(refs.every((r) => /^\d+$/.test(r ?? ''))).toBe(true);
    expect(await t.deliver([rec('ins/1', {}, true), rec('ins/2')], ctx)).toEqual([
      { key: 'ins/1', status: 'delivered', legacyRef: refs[0], alreadyPresent: true },
      { key: 'ins/2', status: 'delivered', legacyRef: refs[1], alreadyPresent: true },
    ]);
    await t.close();
    expect(await countOf('ins/')).toBe(2);
    const stored = await row('ins/2');
    expect(String(stored?.surname ?? stored?.SURNAME).trimEnd()).toBe('NÍ BHRIAIN');
    expect(String(stored?.case_status ?? stored?.CASE_STATUS).trimEnd()).toBe('NEW');
  });

  it('isolates the bad rows of a batch: each rejected with rekey’s reason, the database’s own message as legacyText, the rest delivered', async () => {
    const t = await open({ batchSize: 500 });
    const batch = Array.from({ length: 40 }, (_, i) => rec(`iso/${i}`, i === 17 ? { SURNAME: 'morgan' } : i === 29 ? { DRIVER_NO: REVOKED } : {}));
    const out = await t.deliver(batch, ctx);
    await t.close();
    const schema = pg() ? '' : db.url.split('/').pop();
    expect(out[17]).toEqual({
      key: 'iso/17',
      status: 'rejected',
      error: pg()
        ? { code: 'SQL_CONSTRAINT', disposition: 'reject', message: 'the legacy database refused the record (code 23514, constraint cases_surname_check, field SURNAME)', field: 'SURNAME', constraint: 'cases_surname_check', legacyText: 'new row for relation "cases" violates check constraint "cases_surname_check"' }
        : { code: 'SQL_CONSTRAINT', disposition: 'reject', message: 'the legacy database refused the record (field SURNAME)', field: 'SURNAME', legacyText: `CONSTRAINT \`CASES.SURNAME\` failed for \`${schema}\`.\`CASES\`` },
    });
    expect(out[29]).toEqual({
      key: 'iso/29',
      status: 'rejected',
      error: { code: 'SQL_CONSTRAINT', disposition: 'reject', message: pg() ? 'the legacy database refused the record (code P0001)' : 'the legacy database refused the record', legacyText: pg() ? `DRIVER ${REVOKED} IS REVOKED: REFER TO REVOCATIONS` : 'DRIVER IS REVOKED: REFER TO REVOCATIONS' },
    });
    expect(out.filter((o) => o.status === 'delivered')).toHaveLength(38);
    expect(await countOf('iso/')).toBe(38);
    expect(await row('iso/17')).toBeUndefined();
  });

  it('rejects a duplicate of another unique column, keeping the value out of the message', async () => {
    const t = await open();
    const out = await t.deliver([rec('dup/1', { EMAIL: 'sarah@example.org' }), rec('dup/2', { EMAIL: 'sarah@example.org' })], ctx);
    await t.close();
    expect(out[0]?.status).toBe('delivered');
    expect(out[1]).toMatchObject({ status: 'rejected', error: { code: 'SQL_CONSTRAINT' } });
    expect(JSON.stringify(out[1])).not.toContain('sarah@');
  });

  it('upsert: an existing key’s row is updated in place, a new key inserted', async () => {
    const t0 = await open();
    const [before] = await t0.deliver([rec('ups/1')], ctx);
    await t0.close();
    const t = await open({ mode: 'upsert' });
    const out = await t.deliver([rec('ups/1', { SURNAME: 'JONES' }), rec('ups/2')], ctx);
    await t.close();
    expect(out[0]).toEqual({ key: 'ups/1', status: 'delivered', legacyRef: (before as { legacyRef: string }).legacyRef, confirmed: true });
    expect(out[1]?.status).toBe('delivered');
    expect(String((await row('ups/1'))?.[pg() ? 'surname' : 'SURNAME']).trimEnd()).toBe('JONES');
    expect(await countOf('ups/')).toBe(2);
  });

  it('update: existing rows change; a missing row is a rejection naming the key', async () => {
    const t0 = await open();
    await t0.deliver([rec('upd/1')], ctx);
    await t0.close();
    const t = await open({ mode: 'update' });
    const out = await t.deliver([rec('upd/1', { POSTCODE: 'CF10 1AA' }), rec('upd/404')], ctx);
    await t.close();
    expect(out[0]?.status).toBe('delivered');
    expect(out[1]).toEqual({
      key: 'upd/404',
      status: 'rejected',
      error: { code: 'SQL_NO_ROW', disposition: 'reject', message: `no row of ${pg() ? db.t('cases') : db.url.split('/').pop() + '.CASES'} has ${pg() ? 'submission_key' : 'SUBMISSION_KEY'} = the value of the submission key; update mode changes existing rows only` },
    });
    expect(String((await row('upd/1'))?.[pg() ? 'postcode' : 'POSTCODE']).trimEnd()).toBe('CF10 1AA');
    expect(await countOf('upd/')).toBe(1);
  });

  it('update by a declared business key (matchOn DRIVER_NO) into another table', async () => {
    const t = await open({ table: db.t('drivers'), mode: 'update', matchOn: 'DRIVER_NO' });
    const out = await t.deliver([{ key: 'drv/1', record: { DRIVER_NO: DRIVER, POSTCODE: 'LL55 4UR' }, children: {}, mappingVersion: 'x', uncertain: false }], ctx);
    await t.close();
    const [d] = await db.query(`SELECT * FROM ${db.t('drivers')} WHERE DRIVER_NO = ?`, [DRIVER]);
    expect(out).toEqual([{ key: 'drv/1', status: 'delivered', legacyRef: String(d?.driver_id ?? d?.DRIVER_ID) }]);
    expect(String(d?.postcode ?? d?.POSTCODE).trimEnd()).toBe('LL55 4UR');
  });

  it('rejects a value longer than its CHAR(n) column before sending it, naming field and column', async () => {
    const t = await open();
    const out = await t.deliver([rec('len/1', { SURNAME: 'X'.repeat(40) }), rec('len/2')], ctx);
    await t.close();
    const table = pg() ? db.t('cases') : `${db.url.split('/').pop()}.CASES`;
    const col = pg() ? 'surname (character(35))' : 'SURNAME (char(35))';
    expect(out[0]).toEqual({ key: 'len/1', status: 'rejected', error: { code: 'SQL_VALUE', disposition: 'reject', message: `field SURNAME is 40 characters long; column ${table}.${col} holds at most 35`, field: 'SURNAME' } });
    expect(out[1]?.status).toBe('delivered');
  });

  it.runIf(make === legacyMariaDb)('rejects a character a latin1 column cannot store, rather than letting it become "?"', async () => {
    const t = await open();
    const out = await t.deliver([rec('l1/1', { SURNAME: 'ŁUKASZEWICZ' }), rec('l1/2', { SURNAME: 'MÜLLER' })], ctx);
    await t.close();
    expect(out[0]).toEqual({
      key: 'l1/1',
      status: 'rejected',
      error: {
        code: 'SQL_VALUE',
        disposition: 'reject',
        message: `field SURNAME holds U+0141, which column ${db.url.split('/').pop()}.CASES.SURNAME (char(35)) cannot store in latin1; transliterate it in the mapping ({ transliterate: { charset: latin1 } })`,
        field: 'SURNAME',
      },
    });
    expect(out[1]?.status).toBe('delivered');
    expect(String((await row('l1/2'))?.SURNAME)).toBe('MÜLLER');
  });

  it('writes 8,000 rows in one batch, in statements cut to the batch size and the parameter limit', async () => {
    const t = await open({ batchSize: 5000 });
    const out = await t.deliver(Array.from({ length: 8000 }, (_, i) => rec(`big/${i}`, { WEB_REF: `W${String(i).padStart(7, '0')}` })), ctx);
    await t.close();
    expect(out.filter((o) => o.status === 'delivered')).toHaveLength(8000);
    expect(await countOf('big/')).toBe(8000);
  }, 60_000);

  it('checks the mapping against the live table at connect, naming mapping field and column', async () => {
    const fields = [
      field('CASE_TYPE', { const: 'COA' }),
      field('WEB_REF'),
      field('DRIVER_NO'),
      field('SURNAME', { transform: [{ name: 'truncate', args: 40 }] }),
      field('FORENAMES'),
      field('POSTCODE'),
      field('EFFECTIVE_NO', { transform: [{ name: 'date', args: { from: 'dd/MM/yyyy', to: 'dd.MM.yyyy' } }] }),
      field('RECEIVED_ON', { transform: [{ name: 'date', args: { to: 'yyyyMMdd' } }] }),
      field('MOVE_DAT'),
      field('CASE_ID'),
    ];
    const e = await open({}, fields).catch((err: unknown) => err as SqlSchemaFailure);
    expect(e).toBeInstanceOf(ConnectorFailure);
    const table = pg() ? db.t('cases') : `${db.url.split('/').pop()}.CASES`;
    const c = (name: string, type: string) => `column ${table}.${pg() ? name.toLowerCase() : name} (${type})`;
    expect((e as SqlSchemaFailure).problems.map((p) => p.message)).toEqual([
      `mapping field SURNAME: can be 40 characters long (truncate 40); ${c('SURNAME', pg() ? 'character(35)' : 'char(35)')} holds at most 35`,
      `mapping field EFFECTIVE_NO: is a date formatted dd.MM.yyyy, which column type ${pg() ? 'numeric(8,0)' : 'decimal(8,0)'} cannot hold: use a digits-only format such as yyyyMMdd (${c('EFFECTIVE_NO', pg() ? 'numeric(8,0)' : 'decimal(8,0)')})`,
      `mapping field RECEIVED_ON: is a date formatted yyyyMMdd; column type date takes yyyy-MM-dd (to: yyyy-MM-dd) (${c('RECEIVED_ON', 'date')})`,
      `mapping field MOVE_DAT: table ${table} has no column MOVE_DAT (name another in columns:)`,
      `mapping field CASE_ID: ${c('CASE_ID', pg() ? 'integer' : 'int(11)')} is generated by the database (identity, auto-increment or computed) and cannot be written`,
      `${c('MOVE_DATE', pg() ? 'character(10)' : 'char(10)')} is NOT NULL without a default, and no mapping field writes it`,
    ]);
    expect((e as SqlSchemaFailure).problems[0]).toMatchObject({ field: 'SURNAME', pos: { file: 'm.yaml', line: 3, col: 3 } });
  });

  it('refuses a read-only view at connect with a clear message', async () => {
    const e = await open({ table: db.t('driver_summary'), keyColumn: 'DRIVER_NO' }).catch((err: unknown) => err as ConnectorFailure);
    const view = pg() ? db.t('driver_summary') : `${db.url.split('/').pop()}.DRIVER_SUMMARY`;
    expect(e).toMatchObject({ code: 'SQL_SCHEMA', disposition: 'fatal', message: `${view} is a read-only view: rekey cannot insert into it; name its base table` });
  });

  it('refuses a key column without a UNIQUE constraint', async () => {
    const e = await open({ table: db.t('addresses'), keyColumn: 'TOWN' }).catch((err: unknown) => err as ConnectorFailure);
    expect(e).toMatchObject({ code: 'SQL_SCHEMA', disposition: 'fatal' });
    expect((e as Error).message).toMatch(/TOWN must have a UNIQUE constraint or index: without one a submission could be keyed twice$/i);
  });
});

describe('sql target: a server that refuses rekey\'s user', () => {
  it('is SQL_ACCESS_DENIED (fatal), not a table problem, and the password never appears in the message', async () => {
    const url = new URL(process.env.REKEY_TEST_MARIADB_URL ?? 'mariadb://root@127.0.0.1:3306/test');
    url.username = 'rekey_no_such_user';
    url.password = 'Wr0ngPassw0rd';
    const t = sqlTarget.create({ url: url.toString(), table: 'cases', keyColumn: 'K' }, { baseDir: '.', pipeline: 't' });
    const e = (await t.connect(ctx).catch((err: unknown) => err)) as ConnectorFailure;
    expect(e).toMatchObject({ code: 'SQL_ACCESS_DENIED', disposition: 'fatal' });
    expect(e.message).toMatch(new RegExp(`^the mariadb database ${url.pathname.slice(1)} at ${url.hostname} refused rekey's user: `));
    expect(e.message).not.toMatch(/Wr0ng/);
  });
});

describe('sql target: an unreachable server', () => {
  it('is SQL_UNAVAILABLE (retry), and the password never appears in the message', async () => {
    const t = sqlTarget.create({ url: 'postgres://clerk:S3cr%40tPass@127.0.0.1:1/legacy', table: 'cases', keyColumn: 'K' }, { baseDir: '.', pipeline: 't' });
    const e = (await t.connect(ctx).catch((err: unknown) => err)) as ConnectorFailure;
    expect(e).toMatchObject({ code: 'SQL_UNAVAILABLE', disposition: 'retry' });
    expect(e.message).toMatch(/^cannot reach the postgres database legacy at 127\.0\.0\.1: /);
    expect(e.message).not.toMatch(/S3cr/);
  });
});
