/**
 * kill -9 in the middle of a split: `rekey run` against PostgreSQL, where a
 * trigger raises a serialization failure (40001) for one row, killed after
 * a part of the split batch was committed at the target but before the
 * ledger heard. The next runs probe those rows (found already present),
 * pin the poison again and deliver the rest: every other row exactly once,
 * only the poison dead. Needs `npm run build`.
 */
import { rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueryTypes, Sequelize } from 'sequelize';
import { BENCH_MAPPING, benchSubmissions } from '../../connectors/conformance/bench-bodies.js';
import { auditOf, BENCH_FIELDS, keyOf, ledgerRows, summaryOf, WorkDir } from '../../connectors/conformance/conformance.run.js';
import { PG_URL } from '../../connectors/sql/sql.test-helpers.js';

const schema = `rekey_bisect_crash_${randomBytes(4).toString('hex')}`;
const table = `${schema}.legacy`;
const bodies = benchSubmissions(10, 0);
const keys = bodies.map(keyOf);
const poison = keys[3]!;
const work = new WorkDir('rekey-bisect-crash-');
let pg: Sequelize;

beforeAll(async () => {
  pg = new Sequelize(PG_URL, { logging: false });
  await pg.query(`
    CREATE SCHEMA ${schema};
    CREATE TABLE ${table} (case_id serial PRIMARY KEY, submission_key text NOT NULL UNIQUE, ${BENCH_FIELDS.map((f) => `${f.toLowerCase()} text`).join(', ')});
    CREATE FUNCTION ${schema}.refuse_one() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.submission_key = '${poison.replace(/'/g, "''")}' THEN RAISE EXCEPTION 'could not serialize access' USING ERRCODE = '40001'; END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER refuse_one BEFORE INSERT ON ${table} FOR EACH ROW EXECUTE FUNCTION ${schema}.refuse_one();
  `);
}, 60_000);
afterAll(async () => {
  await pg?.query(`DROP SCHEMA ${schema} CASCADE`);
  await pg?.close();
  rmSync(work.dir, { recursive: true, force: true });
});

describe('kill -9 in the middle of a split batch', () => {
  it('keys every other row exactly once and dead-letters only the poison', async () => {
    // One attempt: the first whole failure is also the last, so the batch is split at once, with no retry timing involved.
    const target = { kind: 'sql', config: { url: PG_URL, table, keyColumn: 'SUBMISSION_KEY', refColumn: 'CASE_ID' } };
    work.write({ name: 'bisect-crash', mapping: BENCH_MAPPING, target, batch: 10, extra: { retry: { maxAttempts: 1 } } }, bodies);
    // Target commits: the whole batch (failed), its first half (failed), then that half's first three rows (delivered): killed there.
    const crashed = await work.run({ REKEY_CRASH_AT: 'after-target-commit:3' });
    expect(crashed.signal).toBe('SIGKILL');
    const count = async () => pg.query<{ submission_key: string; n: string }>(`SELECT submission_key, COUNT(*) AS n FROM ${table} GROUP BY submission_key ORDER BY submission_key`, { type: QueryTypes.SELECT });
    const reached = (await count()).map((r) => r.submission_key);
    expect(reached).toEqual(keys.slice(0, 3).sort());
    expect((await ledgerRows(work.state, 'bisect-crash')).filter((r) => r.state === 'delivered')).toEqual([]);

    let last = await work.run();
    for (let i = 0; i < 4 && (summaryOf(last).waitingRetry ?? 0) > 0; i++) last = await work.run();
    expect(summaryOf(last).waitingRetry).toBe(0);

    expect(await count()).toEqual(keys.filter((k) => k !== poison).sort().map((submission_key) => ({ submission_key, n: '1' })));
    const ledger = await ledgerRows(work.state, 'bisect-crash');
    expect(Object.fromEntries(ledger.map((r) => [r.key, r.state]))).toEqual(Object.fromEntries(keys.map((k) => [k, k === poison ? 'dead' : 'delivered'])));
    const audit = await auditOf(work.state, 'bisect-crash');
    const delivered = audit.entries.filter((e) => e.event === 'delivered');
    expect(delivered.map((e) => e.key).sort()).toEqual(keys.filter((k) => k !== poison).sort());
    expect(delivered.filter((e) => e.detail.alreadyPresent === true).map((e) => e.key).sort()).toEqual(reached);
    expect(audit.verified).toBe(true);
  }, 180_000);
});
