/**
 * The staging-table source against real databases: SQLite files, and the
 * PostgreSQL and MariaDB servers of this machine (REKEY_TEST_PG_URL,
 * REKEY_TEST_MARIADB_URL). Each test uses its own table and drops it.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { SourceItem } from '../connector.types.js';
import type { StagingDialect } from './staging.db.js';
import {
  createStatusTable,
  createWatermarkTable,
  dropTable,
  insertRows,
  readAll,
  refs,
  source,
  testCtx,
  testDb,
  uniqueTable,
  type TestDb,
} from './staging.test-helpers.js';
import type { StagingTableSource } from './staging.source.js';

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const ref = (i: number) => `REF${String(i).padStart(5, '0')}`;

describe.each<StagingDialect>(['sqlite', 'postgres', 'mariadb'])('staging-table source on %s', (dialect) => {
  const db: TestDb = testDb(dialect);
  const dropped: string[] = [];
  const open: StagingTableSource[] = [];
  const table = (prefix: string) => {
    const t = uniqueTable(prefix);
    dropped.push(t);
    return t;
  };
  const make = (...args: Parameters<typeof source>) => {
    const s = source(...args);
    open.push(s);
    return s;
  };
  const status = { column: 'STATUS', new: 'NEW', claimed: 'CLAIMED', done: 'DONE', error: 'ERROR', messageColumn: 'ERROR_MESSAGE' };
  const rowsByStatus = async (t: string) => {
    const rows = await db.query(`SELECT ID, STATUS, CLAIMED_BY, ERROR_MESSAGE FROM ${t} ORDER BY ID`);
    const get = (r: Record<string, unknown>, name: string) => (name in r ? r[name] : r[name.toLowerCase()]);
    return rows.map((r) => ({ id: Number(get(r, 'ID')), status: String(get(r, 'STATUS')), owner: get(r, 'CLAIMED_BY') as string | null, message: get(r, 'ERROR_MESSAGE') as string | null }));
  };

  afterEach(async () => {
    for (const s of open.splice(0)) await s.close().catch(() => undefined);
    for (const t of dropped.splice(0)) await dropTable(db, t);
  });
  afterAll(() => db.close());

  it('status mode: claims in key order, marks DONE only on commit, refuses a bad body row with table, key, column and reason', async () => {
    const t = table('FORM_SUBMISSIONS');
    await createStatusTable(db, t);
    await insertRows(db, t, range(1, 25));
    await db.query(`UPDATE ${t} SET PAYLOAD = $1 WHERE ID = 7`, ['{"form_name": "x", oops']);
    const s = make(db, { table: t, keyColumn: 'ID', body: { json: 'PAYLOAD' }, batchSize: 10, status });
    const items = await readAll(s);
    expect(items).toHaveLength(25);
    expect(refs(items)).toEqual(range(1, 25).filter((i) => i !== 7).map(ref));
    expect(items.map((i) => i.at.record)).toEqual(range(1, 25));
    expect(items[0]?.at.file).toMatch(new RegExp(`^staging:${t}$`, 'i'));
    const bad = items[6] as Extract<SourceItem, { ok: false }>;
    expect(bad.ok).toBe(false);
    const payload = dialect === 'postgres' ? 'payload' : 'PAYLOAD';
    expect(bad.error).toEqual({ code: 'STAGING_BODY', disposition: 'reject', field: payload, message: `${bad.at.file.slice(8)} row 7: column ${payload} is not valid JSON (at character 20)` });
    const before = await rowsByStatus(t);
    expect(new Set(before.map((r) => r.status))).toEqual(new Set(['CLAIMED']));
    expect(new Set(before.map((r) => r.owner))).toEqual(new Set([s.ownerId]));
    await s.commit(testCtx());
    const after = await rowsByStatus(t);
    expect(after.filter((r) => r.status === 'DONE').map((r) => r.id)).toEqual(range(1, 25).filter((i) => i !== 7));
    expect(after.find((r) => r.id === 7)).toMatchObject({ status: 'ERROR', message: bad.error.message });
    expect(await readAll(s)).toEqual([]);
  });

  it('status mode: the body defaults to every column but the status columns, with the table and columns as the platform named them', async () => {
    const t = table('FORM_SUBMISSIONS');
    await createStatusTable(db, t);
    await insertRows(db, t, [1, 2]);
    const s = make(db, { table: dialect === 'mariadb' ? t : t.toLowerCase(), keyColumn: 'id', status: { column: 'status', messageColumn: 'error_message' } });
    const items = await readAll(s);
    expect(items.map((i) => (i.ok ? Object.keys(i.body as object).map((k) => k.toUpperCase()) : []))).toEqual([
      ['ID', 'REF', 'PAYLOAD'],
      ['ID', 'REF', 'PAYLOAD'],
    ]);
    expect(items.map((i) => (i.ok ? Object.values(i.body as object)[1] : undefined))).toEqual([ref(1), ref(2)]);
  });

  it('status mode: two runners claiming at once take disjoint rows that together are all of them', async () => {
    const t = table('FORM_SUBMISSIONS');
    await createStatusTable(db, t);
    const all = range(1, 120);
    await insertRows(db, t, all);
    const config = { table: t, keyColumn: 'ID', body: { json: 'PAYLOAD' }, batchSize: 7, status };
    const a = make(db, config);
    const b = make(db, config);
    const [ia, ib] = await Promise.all([readAll(a), readAll(b)]);
    const ra = refs(ia);
    const rb = refs(ib);
    expect(ra.filter((r) => rb.includes(r))).toEqual([]);
    expect([...ra, ...rb].sort()).toEqual(all.map(ref));
    await Promise.all([a.commit(testCtx()), b.commit(testCtx())]);
    expect(new Set((await rowsByStatus(t)).map((r) => r.status))).toEqual(new Set(['DONE']));
  });

  it('status mode: a live runner’s claims are left alone until the claim timeout, then taken over; the late commit leaves them to the new owner', async () => {
    const t = table('FORM_SUBMISSIONS');
    await createStatusTable(db, t);
    await insertRows(db, t, range(1, 5));
    const config = { table: t, keyColumn: 'ID', body: { json: 'PAYLOAD' }, status, claimTimeout: '1h' };
    const a = make(db, config);
    expect(refs(await readAll(a))).toEqual(range(1, 5).map(ref));
    const b = make(db, config);
    expect(await readAll(b)).toEqual([]);
    const past = dialect === 'sqlite' ? `'2000-01-01T00:00:00.000Z'` : `'2000-01-01 00:00:00'`;
    await db.query(`UPDATE ${t} SET CLAIMED_AT = ${past} WHERE ID IN (2, 4)`);
    expect(refs(await readAll(b))).toEqual([ref(2), ref(4)]);
    await a.commit(testCtx());
    await b.commit(testCtx());
    const rows = await rowsByStatus(t);
    expect(rows.map((r) => r.status)).toEqual(['DONE', 'DONE', 'DONE', 'DONE', 'DONE']);
    expect(rows.map((r) => r.owner === a.ownerId)).toEqual([true, false, true, false, true]);
  });

  it('status mode: claims not committed are given back on close and read again', async () => {
    const t = table('FORM_SUBMISSIONS');
    await createStatusTable(db, t);
    await insertRows(db, t, range(1, 4));
    const config = { table: t, keyColumn: 'ID', body: { json: 'PAYLOAD' }, status };
    const a = make(db, config);
    expect(refs(await readAll(a))).toHaveLength(4);
    await a.close();
    expect((await rowsByStatus(t)).map((r) => [r.status, r.owner])).toEqual(range(1, 4).map(() => ['NEW', null]));
    const b = make(db, config);
    expect(refs(await readAll(b))).toEqual(range(1, 4).map(ref));
  });

  it('watermark mode: reads in (watermark, key) order with ties, advances only on commit, then reads only what is new', async () => {
    const t = table('FORM_FEED');
    const stateTable = uniqueTable('REKEY_WM').toLowerCase();
    dropped.push(stateTable);
    await createWatermarkTable(db, t);
    const seq = (i: number) => ({ SEQ: Math.ceil(i / 3) * 10 });
    await insertRows(db, t, range(1, 20), seq);
    const config = { table: t, keyColumn: 'ID', body: { json: 'PAYLOAD' }, batchSize: 4, watermark: { column: 'SEQ', stateTable } };
    const a = make(db, config);
    expect(refs(await readAll(a))).toEqual(range(1, 20).map(ref));
    await a.close();
    const b = make(db, config);
    expect(refs(await readAll(b))).toEqual(range(1, 20).map(ref));
    await b.commit(testCtx());
    await insertRows(db, t, [21, 22, 23], (i) => ({ SEQ: i === 21 ? 70 : 80 }));
    expect(refs(await readAll(b))).toEqual([ref(21), ref(22), ref(23)]);
    await b.commit(testCtx());
    expect(await readAll(b)).toEqual([]);
    await b.commit(testCtx());
  });

  it('watermark mode: while one runner reads, a second skips the table; afterwards it reads only the rest', async () => {
    const t = table('FORM_FEED');
    const stateTable = uniqueTable('REKEY_WM').toLowerCase();
    dropped.push(stateTable);
    await createWatermarkTable(db, t);
    await insertRows(db, t, range(1, 10), (i) => ({ SEQ: i }));
    const config = { table: t, keyColumn: 'ID', body: { json: 'PAYLOAD' }, batchSize: 3, watermark: { column: 'SEQ', stateTable } };
    const a = make(db, config);
    const b = make(db, config);
    expect(refs(await readAll(a))).toHaveLength(10);
    expect(await readAll(b)).toEqual([]);
    await a.commit(testCtx());
    await insertRows(db, t, [11, 12], (i) => ({ SEQ: i }));
    expect(refs(await readAll(b))).toEqual([ref(11), ref(12)]);
    await b.commit(testCtx());
  });

  it('watermark mode: two runners reading at once never both take a row', async () => {
    const t = table('FORM_FEED');
    const stateTable = uniqueTable('REKEY_WM').toLowerCase();
    dropped.push(stateTable);
    await createWatermarkTable(db, t);
    await insertRows(db, t, range(1, 40), (i) => ({ SEQ: i }));
    const config = { table: t, keyColumn: 'ID', body: { json: 'PAYLOAD' }, batchSize: 5, watermark: { column: 'SEQ', stateTable } };
    const a = make(db, config);
    const b = make(db, config);
    const readAndCommit = async (s: StagingTableSource) => {
      const got = refs(await readAll(s));
      await s.commit(testCtx());
      return got;
    };
    const [ra, rb] = await Promise.all([readAndCommit(a), readAndCommit(b)]);
    expect(ra.filter((r) => rb.includes(r))).toEqual([]);
    expect([...ra, ...rb].sort()).toEqual(range(1, 40).map(ref));
  });

  it('watermark mode: a timestamp watermark with microsecond ties loses no precision between reads', async () => {
    const t = table('FORM_FEED');
    const stateTable = uniqueTable('REKEY_WM').toLowerCase();
    dropped.push(stateTable);
    const ts = dialect === 'postgres' ? 'TIMESTAMP(6)' : dialect === 'mariadb' ? 'DATETIME(6)' : 'TEXT';
    await db.query(`CREATE TABLE ${t} (ID INTEGER PRIMARY KEY, AT_TS ${ts} NOT NULL, REF VARCHAR(20) NOT NULL, PAYLOAD TEXT)`);
    const at = (us: number) => (dialect === 'sqlite' ? `2024-03-14T10:22:31.${String(us).padStart(6, '0')}Z` : `2024-03-14 10:22:31.${String(us).padStart(6, '0')}`);
    const micro = [123456, 123456, 123456, 123457, 123457, 999999, 999999];
    await insertRows(db, t, range(1, 7), (i) => ({ AT_TS: at(micro[i - 1] as number) }));
    const config = { table: t, keyColumn: 'ID', body: { json: 'PAYLOAD' }, batchSize: 2, watermark: { column: 'AT_TS', stateTable } };
    const s = make(db, config);
    expect(refs(await readAll(s))).toEqual(range(1, 7).map(ref));
    await s.commit(testCtx());
    expect(await readAll(s)).toEqual([]);
    await s.commit(testCtx());
    await insertRows(db, t, [8], () => ({ AT_TS: at(999999) }));
    expect(refs(await readAll(s))).toEqual([ref(8)]);
    await s.commit(testCtx());
  });

  it('watermark mode: a bad body row is reported once and the watermark moves past it', async () => {
    const t = table('FORM_FEED');
    const stateTable = uniqueTable('REKEY_WM').toLowerCase();
    dropped.push(stateTable);
    await createWatermarkTable(db, t);
    await insertRows(db, t, range(1, 3), (i) => ({ SEQ: i }));
    await db.query(`UPDATE ${t} SET PAYLOAD = $1 WHERE ID = 3`, ['[1, 2]']);
    const s = make(db, { table: t, keyColumn: 'ID', body: { json: 'PAYLOAD' }, watermark: { column: 'SEQ', stateTable } });
    const items = await readAll(s);
    expect(items.map((i) => (i.ok ? 'ok' : i.error.message.replace(/^\S+ /, '').replace('payload', 'PAYLOAD')))).toEqual(['ok', 'ok', 'row 3: column PAYLOAD holds JSON list, not a submission object']);
    await s.commit(testCtx());
    expect(await readAll(s)).toEqual([]);
  });

  it('status mode: a row nested 10,000 levels deep is one refused row (STAGING_BODY, naming the limit); the others are read, and the next read is not stuck', async () => {
    const t = table('FORM_SUBMISSIONS');
    await createStatusTable(db, t);
    await insertRows(db, t, range(1, 5));
    await db.query(`UPDATE ${t} SET PAYLOAD = $1 WHERE ID = 3`, [`{"form_name":"x","answers":${'['.repeat(10_000)}"Zqx7Canary"${']'.repeat(10_000)}}`]);
    const s = make(db, { table: t, keyColumn: 'ID', body: { json: 'PAYLOAD' }, status });
    const items = await readAll(s);
    expect(refs(items)).toEqual([1, 2, 4, 5].map(ref));
    const bad = items[2] as Extract<SourceItem, { ok: false }>;
    const payload = dialect === 'postgres' ? 'payload' : 'PAYLOAD';
    expect(bad.error).toEqual({
      code: 'STAGING_BODY',
      disposition: 'reject',
      field: payload,
      message: `${bad.at.file.slice(8)} row 3: column ${payload} nests arrays and objects deeper than 64 levels (maxDepth)`,
    });
    await s.commit(testCtx());
    const after = await rowsByStatus(t);
    expect(after.map((r) => r.status)).toEqual(['DONE', 'DONE', 'ERROR', 'DONE', 'DONE']);
    expect(after[2]?.message).toBe(bad.error.message);
    await insertRows(db, t, [6]);
    expect(refs(await readAll(s))).toEqual([ref(6)]);
  });

  it('fails with SQL_SCHEMA naming the table when it or a column is missing', async () => {
    const missing = make(db, { table: 'NO_SUCH_TABLE_REKEY', keyColumn: 'ID', status });
    await expect(readAll(missing)).rejects.toMatchObject({ code: 'SQL_SCHEMA', disposition: 'fatal', message: expect.stringContaining('NO_SUCH_TABLE_REKEY') });
    const t = table('FORM_SUBMISSIONS');
    await createStatusTable(db, t);
    const noColumn = make(db, { table: t, keyColumn: 'ID', status: { ...status, ownerColumn: 'LOCKED_BY' } });
    await expect(readAll(noColumn)).rejects.toMatchObject({ code: 'SQL_SCHEMA', message: expect.stringContaining('no claim owner column LOCKED_BY') });
  });
});
