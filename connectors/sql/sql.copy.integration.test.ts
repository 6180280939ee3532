/**
 * The PostgreSQL COPY fast path for plain inserts: used for many new rows,
 * text with COPY's special characters round-trips, a refused row makes the
 * writer fall back to INSERT statements that isolate it, keys already
 * present are never loaded again.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import pino from 'pino';
import pg from 'pg';
import type { Ctx, MappedRecord, Target } from '../connector.types.js';
import { PostgresTx } from './postgres.copy.js';
import { sqlTarget, type SqlTargetConfig } from './sql.target.js';
import { legacyPostgres, type LegacyDb } from './sql.test-helpers.js';

const ctx: Ctx = { log: pino({ level: 'silent' }), signal: new AbortController().signal, attempt: 1 };

const rec = (key: string, over: Record<string, unknown> = {}): MappedRecord => ({
  key,
  record: { CASE_TYPE: 'COA', WEB_REF: 'WEB00001', DRIVER_NO: 'MORGA657054SM9IJ', SURNAME: 'MORGAN', FORENAMES: 'SARAH JANE', POSTCODE: 'SW1A 1AA', MOVE_DATE: '01.02.2024', ...over },
  children: {},
  mappingVersion: 'sha256:x',
  uncertain: false,
});

describe('sql target on PostgreSQL: COPY for plain inserts', () => {
  let db: LegacyDb;
  const targets: Target[] = [];
  beforeAll(async () => {
    db = await legacyPostgres();
  }, 60_000);
  afterEach(() => {
    vi.restoreAllMocks();
  });
  afterAll(async () => {
    for (const t of targets) await t.close();
    await db?.drop();
  });

  const open = async (config: Partial<SqlTargetConfig> = {}) => {
    const t = sqlTarget.create({ url: db.url, table: db.t('cases'), keyColumn: 'SUBMISSION_KEY', ...config }, { baseDir: '.', pipeline: 't' });
    targets.push(t);
    await t.connect(ctx);
    return t;
  };
  const count = async (prefix: string) => Number((await db.query(`SELECT COUNT(*) AS n FROM ${db.t('cases')} WHERE submission_key LIKE ?`, [`${prefix}%`]))[0]?.n);

  it('looks a batch’s keys up one by one in the key’s index, so a batch costs the same however large the table (statistics lagging or not)', async () => {
    const select = vi.spyOn(PostgresTx.prototype, 'select');
    const t = await open();
    for (let b = 0; b < 4; b++) {
      const out = await t.deliver(Array.from({ length: 5000 }, (_, i) => rec(`grow/${b}/${i}`)), ctx);
      expect(out.every((o) => o.status === 'delivered')).toBe(true);
    }
    const probes = select.mock.calls.filter(([sql]) => String(sql).includes('rekey_ref'));
    const [sql, params] = probes.at(-1)!;
    expect((params as unknown[][])[0]).toHaveLength(5000);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const plan = (await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${String(sql)}`, params as unknown[])).rows.map((r) => r['QUERY PLAN']).join('\n');
      expect(plan).toMatch(/Index (Only )?Scan using cases_submission_key_key/);
      expect(plan).not.toMatch(/Seq Scan on cases/);
    } finally {
      await client.end();
    }
    expect(await count('grow/')).toBe(20_000);
  });

  it('loads many new rows with COPY; text with tabs, newlines and backslashes arrives intact; a rerun loads nothing twice', async () => {
    const copy = vi.spyOn(PostgresTx.prototype, 'copyRows');
    const t = await open();
    const batch = Array.from({ length: 500 }, (_, i) => rec(`copy/${i}`, i === 7 ? { FORENAMES: 'JO\tANNE\\X\nY', FEE: 12.5, RECEIVED_ON: '2024-02-01' } : {}));
    const out = await t.deliver(batch, ctx);
    expect(copy).toHaveBeenCalledTimes(2);
    expect(out.every((o) => o.status === 'delivered' && /^\d+$/.test(o.legacyRef ?? ''))).toBe(true);
    expect(await count('copy/')).toBe(500);
    const [row] = await db.query(`SELECT forenames, fee::text AS fee, received_on::text AS received FROM ${db.t('cases')} WHERE submission_key = 'copy/7'`);
    expect(row).toEqual({ forenames: 'JO\tANNE\\X\nY', fee: '12.50', received: '2024-02-01' });
    const again = await t.deliver(batch, ctx);
    expect(again.every((o) => o.status === 'delivered' && o.alreadyPresent)).toBe(true);
    expect(copy).toHaveBeenCalledTimes(2);
    expect(await count('copy/')).toBe(500);
  });

  it('a refused row fails the COPY: the writer falls back to INSERT statements, rejects that row with the database’s message and delivers the rest', async () => {
    const copy = vi.spyOn(PostgresTx.prototype, 'copyRows');
    const t = await open();
    const out = await t.deliver(Array.from({ length: 300 }, (_, i) => rec(`fall/${i}`, i === 123 ? { SURNAME: 'morgan' } : {})), ctx);
    expect(copy).toHaveBeenCalledTimes(1);
    expect(out[123]).toEqual({ key: 'fall/123', status: 'rejected', error: { code: 'SQL_CONSTRAINT', disposition: 'reject', message: 'the legacy database refused the record (code 23514, constraint cases_surname_check, field SURNAME)', field: 'SURNAME', constraint: 'cases_surname_check', legacyText: 'new row for relation "cases" violates check constraint "cases_surname_check"' } });
    expect(out.filter((o) => o.status === 'delivered')).toHaveLength(299);
    expect(await count('fall/')).toBe(299);
  });

  it('bulkLoad: false and small batches use INSERT statements', async () => {
    const copy = vi.spyOn(PostgresTx.prototype, 'copyRows');
    const off = await open({ bulkLoad: false });
    expect((await off.deliver(Array.from({ length: 200 }, (_, i) => rec(`off/${i}`)), ctx)).every((o) => o.status === 'delivered')).toBe(true);
    const on = await open();
    expect((await on.deliver(Array.from({ length: 99 }, (_, i) => rec(`few/${i}`)), ctx)).every((o) => o.status === 'delivered')).toBe(true);
    expect(copy).not.toHaveBeenCalled();
    expect(await count('off/')).toBe(200);
    expect(await count('few/')).toBe(99);
  });
});
