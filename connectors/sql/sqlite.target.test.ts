import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import sqlite3 from 'sqlite3';
import type { Ctx, MappedRecord } from '../connector.types.js';
import { sqliteTarget, type SqliteTarget, type SqliteTargetConfig } from './sqlite.target.js';
import { loggedCtx } from './sql.test-helpers.js';

const ctx: Ctx = { log: pino({ level: 'silent' }), signal: new AbortController().signal, attempt: 1 };
let dir: string;

const SETUP = `
CREATE TABLE PEOPLE (
  ID INTEGER PRIMARY KEY AUTOINCREMENT,
  SUB_KEY TEXT NOT NULL UNIQUE,
  SURNAME TEXT NOT NULL CHECK (SURNAME = upper(SURNAME)),
  AGE INTEGER CHECK (AGE >= 17),
  EMAIL TEXT UNIQUE,
  ACTIVE INTEGER
);
CREATE TABLE TYPED (K TEXT NOT NULL UNIQUE, N INTEGER) STRICT;
CREATE TABLE LOOSE (K TEXT NOT NULL, V TEXT);
CREATE TABLE VALS (K TEXT NOT NULL UNIQUE, S TEXT, I INTEGER, F REAL, B INTEGER, D TEXT, N TEXT, L TEXT, U TEXT, G TEXT, X);
CREATE TABLE APPS (
  APP_ID    INTEGER PRIMARY KEY AUTOINCREMENT,
  SUB_KEY   TEXT NOT NULL UNIQUE,
  DRIVER_NO CHAR(16) NOT NULL UNIQUE,
  TITLE     CHAR(4),
  SURNAME   VARCHAR(35) NOT NULL,
  DOB       DATE,
  FEE       DECIMAL(7, 2),
  WELSH     BOOLEAN,
  FLAGGED
);
CREATE TRIGGER APPS_TITLE_IN AFTER INSERT ON APPS WHEN NEW.TITLE NOT IN ('MR', 'MRS', 'MS', 'DR')
  BEGIN UPDATE APPS SET TITLE = 'OTH' WHERE APP_ID = NEW.APP_ID; END;
CREATE TRIGGER APPS_TITLE_UP AFTER UPDATE OF TITLE ON APPS WHEN NEW.TITLE NOT IN ('MR', 'MRS', 'MS', 'DR', 'OTH')
  BEGIN UPDATE APPS SET TITLE = 'OTH' WHERE APP_ID = NEW.APP_ID; END;
`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rekey-sqlite-target-'));
  await writeFile(join(dir, 'setup.sql'), SETUP);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

let n = 0;
async function open(config: Partial<SqliteTargetConfig> = {}): Promise<SqliteTarget> {
  const target = sqliteTarget.create({ path: `db${++n}.sqlite`, table: 'PEOPLE', keyColumn: 'SUB_KEY', setupSql: 'setup.sql', columns: { LAST_NAME: 'SURNAME' }, ...config }, { baseDir: dir, pipeline: 't' });
  await target.connect(ctx);
  return target;
}

const rec = (key: string, record: Record<string, unknown>, uncertain = false): MappedRecord => ({ key, record, children: {}, mappingVersion: 'sha256:x', uncertain });

function query(path: string, sql: string): Promise<Record<string, unknown>[]> {
  return new Promise((ok, ko) => {
    const db = new sqlite3.Database(path, sqlite3.OPEN_READONLY, (e) => {
      if (e) return ko(e);
      db.all(sql, (err, rows) => db.close(() => (err ? ko(err) : ok(rows as Record<string, unknown>[]))));
    });
  });
}

describe('sqlite target: delivery', () => {
  it('inserts a batch and reads back each rowid as the legacy reference', async () => {
    const t = await open();
    const out = await t.deliver([rec('k1', { LAST_NAME: 'OCONNOR', AGE: 40, ACTIVE: true }), rec('k2', { LAST_NAME: 'BRONTË-SMITH' }), rec('k3', { LAST_NAME: 'NG', EMAIL: undefined })], ctx);
    expect(out).toEqual([
      { key: 'k1', status: 'delivered', legacyRef: '1' },
      { key: 'k2', status: 'delivered', legacyRef: '2' },
      { key: 'k3', status: 'delivered', legacyRef: '3' },
    ]);
    await t.close();
    expect(await query(t.path, 'SELECT ID, SUB_KEY, SURNAME, AGE, ACTIVE FROM PEOPLE ORDER BY ID')).toEqual([
      { ID: 1, SUB_KEY: 'k1', SURNAME: 'OCONNOR', AGE: 40, ACTIVE: 1 },
      { ID: 2, SUB_KEY: 'k2', SURNAME: 'BRONTË-SMITH', AGE: null, ACTIVE: null },
      { ID: 3, SUB_KEY: 'k3', SURNAME: 'NG', AGE: null, ACTIVE: null },
    ]);
  });

  it('never inserts a key twice: a redelivered batch is alreadyPresent with the same references', async () => {
    const t = await open();
    const batch = [rec('k1', { LAST_NAME: 'A' }), rec('k2', { LAST_NAME: 'B' })];
    await t.deliver(batch, ctx);
    expect(await t.deliver(batch, ctx)).toEqual([
      { key: 'k1', status: 'delivered', legacyRef: '1', alreadyPresent: true },
      { key: 'k2', status: 'delivered', legacyRef: '2', alreadyPresent: true },
    ]);
    await t.close();
    expect(await query(t.path, 'SELECT count(*) AS n FROM PEOPLE')).toEqual([{ n: 2 }]);
  });

  it('probes uncertain records: written ones are alreadyPresent, the others are written', async () => {
    const t = await open();
    await t.deliver([rec('k1', { LAST_NAME: 'A' })], ctx);
    expect(await t.deliver([rec('k1', { LAST_NAME: 'A' }, true), rec('k2', { LAST_NAME: 'B' }, true)], ctx)).toEqual([
      { key: 'k1', status: 'delivered', legacyRef: '1', alreadyPresent: true },
      { key: 'k2', status: 'delivered', legacyRef: '2' },
    ]);
    await t.close();
  });

  it('writes a key given twice in one batch once', async () => {
    const t = await open();
    expect(await t.deliver([rec('k1', { LAST_NAME: 'A' }), rec('k1', { LAST_NAME: 'A' })], ctx)).toEqual([
      { key: 'k1', status: 'delivered', legacyRef: '1' },
      { key: 'k1', status: 'delivered', legacyRef: '1', alreadyPresent: true },
    ]);
    await t.close();
  });

  it('stores values of every type, read back as written', async () => {
    const t = await open({ table: 'VALS', keyColumn: 'K', columns: {} });
    const long = 'é'.repeat(1024);
    const when = new Date('2024-02-29T23:59:59.123Z');
    const out = await t.deliver(
      [
        rec('plain', { S: 'Ní Bhriain', I: 42, F: 2.5, B: true, D: when, N: null, L: long, U: 'Zoë 😀 “quoted” \\ \n', G: 12345678901234567890n, X: '0042' }),
        rec('edges', { S: '', I: 3_000_000_000, F: 0.1, B: false, X: 7 }),
      ],
      ctx,
    );
    expect(out.map((o) => o.status)).toEqual(['delivered', 'delivered']);
    await t.close();
    expect(await query(t.path, 'SELECT K, S, I, F, B, D, N, L, U, G, X, typeof(I) AS TI, typeof(X) AS TX FROM VALS ORDER BY rowid')).toEqual([
      { K: 'plain', S: 'Ní Bhriain', I: 42, F: 2.5, B: 1, D: '2024-02-29T23:59:59.123Z', N: null, L: long, U: 'Zoë 😀 “quoted” \\ \n', G: '12345678901234567890', X: '0042', TI: 'integer', TX: 'text' },
      { K: 'edges', S: '', I: 3_000_000_000, F: 0.1, B: 0, D: null, N: null, L: null, U: null, G: null, X: 7, TI: 'integer', TX: 'integer' },
    ]);
  });

  it('lets deliveries made at once run one after the other', async () => {
    const t = await open();
    const [a, b] = await Promise.all([t.deliver([rec('a', { LAST_NAME: 'A' })], ctx), t.deliver([rec('b', { LAST_NAME: 'B' })], ctx)]);
    expect([a[0]?.status, b[0]?.status]).toEqual(['delivered', 'delivered']);
    await t.close();
  });
});

describe('sqlite target: a bad record rejects only itself', () => {
  it('reports NOT NULL and CHECK violations with rekey’s reason, the database’s message as legacyText, the rest delivered', async () => {
    const t = await open();
    const out = await t.deliver(
      [rec('k1', { LAST_NAME: 'ONE' }), rec('k2', { AGE: 30 }), rec('k3', { LAST_NAME: 'THREE' }), rec('k4', { LAST_NAME: 'four' }), rec('k5', { LAST_NAME: 'FIVE' })],
      ctx,
    );
    expect(out).toEqual([
      { key: 'k1', status: 'delivered', legacyRef: '1' },
      { key: 'k2', status: 'rejected', error: { code: 'SQL_CONSTRAINT', disposition: 'reject', message: 'the legacy database refused the record (code SQLITE_CONSTRAINT)', legacyText: 'NOT NULL constraint failed: PEOPLE.SURNAME' } },
      { key: 'k3', status: 'delivered', legacyRef: '2' },
      { key: 'k4', status: 'rejected', error: { code: 'SQL_CONSTRAINT', disposition: 'reject', message: 'the legacy database refused the record (code SQLITE_CONSTRAINT, field LAST_NAME)', field: 'LAST_NAME', legacyText: 'CHECK constraint failed: SURNAME = upper(SURNAME)' } },
      { key: 'k5', status: 'delivered', legacyRef: '3' },
    ]);
    await t.close();
    expect(await query(t.path, 'SELECT SUB_KEY FROM PEOPLE ORDER BY ID')).toEqual([{ SUB_KEY: 'k1' }, { SUB_KEY: 'k3' }, { SUB_KEY: 'k5' }]);
  });

  it('isolates bad rows in a large batch split over several statements', async () => {
    const t = await open({ batchSize: 16 });
    const batch = Array.from({ length: 40 }, (_, i) => rec(`k${i}`, { LAST_NAME: `P${i}`, AGE: i === 7 || i === 33 ? 12 : 30, EMAIL: i === 20 ? 'p0@example.com' : `p${i}@example.com` }));
    const out = await t.deliver(batch, ctx);
    const bad = out.flatMap((o, i) => (o.status === 'rejected' ? [[i, o.error.legacyText, o.error.field]] : []));
    expect(bad).toEqual([
      [7, 'CHECK constraint failed: AGE >= 17', 'AGE'],
      [20, 'UNIQUE constraint failed: PEOPLE.EMAIL', 'EMAIL'],
      [33, 'CHECK constraint failed: AGE >= 17', 'AGE'],
    ]);
    expect(out.filter((o) => o.status === 'delivered')).toHaveLength(37);
    await t.close();
  });

  it('rejects one bad row in a batch of 5,000 and delivers the others in order', async () => {
    const t = await open();
    const batch = Array.from({ length: 5000 }, (_, i) => rec(`k${i}`, { LAST_NAME: `P${i}`, AGE: i === 2500 ? 12 : 30 }));
    const out = await t.deliver(batch, ctx);
    expect(out[2500]).toEqual({ key: 'k2500', status: 'rejected', error: { code: 'SQL_CONSTRAINT', disposition: 'reject', message: 'the legacy database refused the record (code SQLITE_CONSTRAINT, field AGE)', field: 'AGE', legacyText: 'CHECK constraint failed: AGE >= 17' } });
    const refs = out.filter((o, i) => i !== 2500).map((o) => (o.status === 'delivered' ? o.legacyRef : o.status));
    expect(refs).toEqual(Array.from({ length: 4999 }, (_, i) => String(i + 1)));
    expect(await t.deliver(batch.slice(2499, 2502), ctx)).toEqual([
      { key: 'k2499', status: 'delivered', legacyRef: '2500', alreadyPresent: true },
      out[2500],
      { key: 'k2501', status: 'delivered', legacyRef: '2501', alreadyPresent: true },
    ]);
    await t.close();
    expect(await query(t.path, 'SELECT count(*) AS n, max(ID) AS top FROM PEOPLE')).toEqual([{ n: 4999, top: 4999 }]);
  });

  it('rejects a wrong type in a STRICT table', async () => {
    const t = await open({ table: 'TYPED', keyColumn: 'K', columns: {} });
    expect(await t.deliver([rec('a', { N: 5 }), rec('b', { N: 'five' })], ctx)).toEqual([
      { key: 'a', status: 'delivered', legacyRef: '1' },
      { key: 'b', status: 'rejected', error: { code: 'SQL_CONSTRAINT', disposition: 'reject', message: 'the legacy database refused the record (code SQLITE_CONSTRAINT, field N)', field: 'N', legacyText: 'cannot store TEXT value in INTEGER column TYPED.N' } },
    ]);
    await t.close();
  });

  it('rejects values no column can hold and child rows', async () => {
    const t = await open();
    const withChildren = { ...rec('k2', { LAST_NAME: 'B' }), children: { VEHICLES: [{ VRM: 'AB12CDE' }] } };
    expect(await t.deliver([rec('k1', { LAST_NAME: ['A', 'B'] }), withChildren, rec('k3', { LAST_NAME: 'C' })], ctx)).toEqual([
      { key: 'k1', status: 'rejected', error: { code: 'SQL_VALUE', disposition: 'reject', message: 'field LAST_NAME holds a list; a column takes one value', field: 'LAST_NAME' } },
      { key: 'k2', status: 'rejected', error: { code: 'SQL_VALUE', disposition: 'reject', message: "the record has child rows (VEHICLES); name their table under children: in the target's config" } },
      { key: 'k3', status: 'delivered', legacyRef: '1' },
    ]);
    await t.close();
  });
});

describe('sqlite target: failures of the whole batch', () => {
  it('stops the pipeline when a field has no column, writing nothing', async () => {
    const t = await open();
    await expect(t.deliver([rec('k1', { LAST_NAME: 'A' }), rec('k2', { LAST_NAME: 'B', SHOE_SIZE: 9 })], ctx)).rejects.toMatchObject({
      code: 'SQL_SCHEMA',
      disposition: 'fatal',
      message: 'table PEOPLE has no column "SHOE_SIZE" for mapping field SHOE_SIZE: add the column, or name another in columns:',
    });
    await t.close();
    expect(await query(t.path, 'SELECT count(*) AS n FROM PEOPLE')).toEqual([{ n: 0 }]);
  });

  it('fails every record for a retry while another writer holds the lock, then delivers', async () => {
    const t = await open({ busyTimeoutMs: 50 });
    const other = new sqlite3.Database(t.path);
    await new Promise<void>((ok, ko) => other.exec('BEGIN IMMEDIATE', (e) => (e ? ko(e) : ok())));
    const batch = [rec('k1', { LAST_NAME: 'A' }), rec('k2', { LAST_NAME: 'B' })];
    const busy = await t.deliver(batch, ctx);
    expect(busy).toEqual(batch.map((r) => ({ key: r.key, status: 'failed', error: { code: 'SQL_BUSY', disposition: 'retry', message: 'the legacy database failed the batch (code SQLITE_BUSY)' } })));
    await new Promise<void>((ok) => other.exec('ROLLBACK', () => other.close(() => ok())));
    expect((await t.deliver(batch, ctx)).map((o) => o.status)).toEqual(['delivered', 'delivered']);
    await t.close();
  });
});

describe('sqlite target: connect', () => {
  it('runs in WAL mode with synchronous=FULL', async () => {
    const t = await open();
    expect(await t.settings()).toEqual({ journalMode: 'wal', synchronous: 2, busyTimeoutMs: 5000 });
    await t.close();
  });

  it('refuses a key column without a UNIQUE constraint', async () => {
    await expect(open({ table: 'LOOSE', keyColumn: 'K' })).rejects.toMatchObject({
      code: 'SQL_SCHEMA',
      message: 'LOOSE.K must have a UNIQUE constraint or index: without one a submission could be keyed twice',
    });
  });

  it('refuses a missing table or key column', async () => {
    await expect(open({ table: 'NOPE' })).rejects.toMatchObject({ code: 'SQL_SCHEMA', message: `table NOPE does not exist in ${join(dir, `db${n}.sqlite`)} (setupSql did not create it)` });
    await expect(open({ keyColumn: 'REF' })).rejects.toMatchObject({ code: 'SQL_SCHEMA', message: 'table PEOPLE has no key column REF' });
  });

  it('runs the setup script whole or not at all, so a failed setup leaves nothing half made', async () => {
    await writeFile(join(dir, 'broken.sql'), 'CREATE TABLE HALF (SUB_KEY TEXT NOT NULL UNIQUE);\nCREATE TABLE oops (;\n');
    const t = sqliteTarget.create({ path: 'half.sqlite', table: 'HALF', keyColumn: 'SUB_KEY', setupSql: 'broken.sql' }, { baseDir: dir, pipeline: 't' });
    await expect(t.connect(ctx)).rejects.toMatchObject({ disposition: 'fatal' });
    expect(await query(join(dir, 'half.sqlite'), "SELECT name FROM sqlite_master WHERE type = 'table'")).toEqual([]);
    await writeFile(join(dir, 'broken.sql'), 'CREATE TABLE HALF (SUB_KEY TEXT NOT NULL UNIQUE);\n');
    await t.connect(ctx);
    await t.close();
  });

  it('does not create a database file it was not asked to set up', async () => {
    const t = sqliteTarget.create({ path: 'missing.sqlite', table: 'PEOPLE', keyColumn: 'SUB_KEY' }, { baseDir: dir, pipeline: 't' });
    await expect(t.connect(ctx)).rejects.toMatchObject({
      code: 'SQL_UNAVAILABLE',
      disposition: 'fatal',
      message: `database ${join(dir, 'missing.sqlite')} does not exist (ENOENT); setupSql would create it`,
    });
    expect(existsSync(join(dir, 'missing.sqlite'))).toBe(false);
  });

  it('reports a database it cannot open', async () => {
    await writeFile(join(dir, 'not-a-db.sqlite'), 'this is not a database file, it only has the name of one');
    const t = sqliteTarget.create({ path: 'not-a-db.sqlite', table: 'PEOPLE', keyColumn: 'SUB_KEY' }, { baseDir: dir, pipeline: 't' });
    await expect(t.connect(ctx)).rejects.toMatchObject({ code: 'SQL_SCHEMA', disposition: 'fatal', message: `cannot use ${join(dir, 'not-a-db.sqlite')}: file is not a database` });
  });

  it('refuses to deliver before connect', async () => {
    const t = sqliteTarget.create({ path: 'x.sqlite', table: 'PEOPLE', keyColumn: 'SUB_KEY' }, { baseDir: dir, pipeline: 't' });
    await expect(t.deliver([rec('k', {})], ctx)).rejects.toMatchObject({ code: 'SQL_SCHEMA' });
  });
});

describe('sqlite target: read-back confirmation', () => {
  const app = (key: string, over: Record<string, unknown> = {}, uncertain = false) =>
    rec(key, { DRIVER_NO: 'GWYNE903144E99AB', TITLE: 'MS', SURNAME: 'GWYNEDD-JONES', DOB: '1990-03-14', FEE: '12.50', WELSH: true, FLAGGED: false, ...over }, uncertain);
  const apps = { table: 'APPS', keyColumn: 'SUB_KEY', columns: {} };

  it('insert with readBack: true confirms rows read back equal; a value a trigger rewrote is delivered unconfirmed, naming the field only', async () => {
    const { ctx: logCtx, text } = loggedCtx();
    const t = await open({ ...apps, readBack: true });
    const out = await t.deliver([app('a1'), app('a2', { DRIVER_NO: 'GWYNE903144E99AC', TITLE: 'MX' })], logCtx);
    expect(out).toEqual([
      { key: 'a1', status: 'delivered', legacyRef: '1', confirmed: true },
      { key: 'a2', status: 'delivered', legacyRef: '2', confirmed: false, mismatches: ['TITLE'] },
    ]);
    expect(await t.deliver([app('a2', { DRIVER_NO: 'GWYNE903144E99AC', TITLE: 'MX' }, true)], logCtx)).toEqual([{ key: 'a2', status: 'delivered', legacyRef: '2', alreadyPresent: true }]);
    await t.close();
    expect(await query(t.path, 'SELECT SUB_KEY, TITLE, FEE, WELSH, FLAGGED FROM APPS ORDER BY APP_ID')).toEqual([
      { SUB_KEY: 'a1', TITLE: 'MS', FEE: 12.5, WELSH: 1, FLAGGED: 0 },
      { SUB_KEY: 'a2', TITLE: 'OTH', FEE: 12.5, WELSH: 1, FLAGGED: 0 },
    ]);
    expect(text()).toContain('"fields":["TITLE"]');
    expect(text()).toContain('read-back differs');
    expect(text()).not.toContain('GWYNE');
    expect(text()).not.toContain('MX');
  });

  it('upsert reads back by default: an update a trigger rewrote is unconfirmed; without readBack insert mode confirms nothing', async () => {
    const { ctx: logCtx } = loggedCtx();
    const plain = await open(apps);
    expect(await plain.deliver([app('u1')], logCtx)).toEqual([{ key: 'u1', status: 'delivered', legacyRef: '1' }]);
    await plain.close();
    const ups = await open({ ...apps, path: `db${n}.sqlite`, mode: 'upsert', matchOn: 'DRIVER_NO' });
    expect(await ups.deliver([app('u2', { SURNAME: 'JONES' }), app('u3', { DRIVER_NO: 'JONES903144E99AB' })], logCtx)).toEqual([
      { key: 'u2', status: 'delivered', legacyRef: '1', confirmed: true },
      { key: 'u3', status: 'delivered', legacyRef: '2', confirmed: true },
    ]);
    expect(await ups.deliver([app('u4', { TITLE: 'MX' })], logCtx)).toEqual([{ key: 'u4', status: 'delivered', legacyRef: '1', confirmed: false, mismatches: ['TITLE'] }]);
    await ups.close();
    expect(await query(ups.path, 'SELECT SUB_KEY, DRIVER_NO, TITLE, SURNAME FROM APPS ORDER BY APP_ID')).toEqual([
      { SUB_KEY: 'u4', DRIVER_NO: 'GWYNE903144E99AB', TITLE: 'OTH', SURNAME: 'GWYNEDD-JONES' },
      { SUB_KEY: 'u3', DRIVER_NO: 'JONES903144E99AB', TITLE: 'MS', SURNAME: 'GWYNEDD-JONES' },
    ]);
  });
});
