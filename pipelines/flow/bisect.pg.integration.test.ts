/**
 * A poison record on a real SQL target: a PostgreSQL trigger raises a
 * serialization failure (SQLSTATE 40001, retried as `SQL_BUSY`) for one
 * row, so the target rolls its batch back and fails every record of it.
 * The flow splits the batch once it has failed before: the other nine rows
 * are in the table exactly once and only the poison is dead-lettered.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { QueryTypes, Sequelize } from 'sequelize';
import type { Outcome } from '../../connectors/connector.types.js';
import { sqlTarget } from '../../connectors/sql/sql.target.js';
import { PG_URL } from '../../connectors/sql/sql.test-helpers.js';
import { openStateStore, type StateStore } from '../store/state-store.js';
import { AuditLog } from '../audit/audit-log.js';
import { Ledger } from '../ledger/ledger.js';
import { runPass } from './pass.js';
import { arraySource, submission, testOptions, testPipeline } from './flow.test-helpers.js';
import { TEST_KEYS } from '../../lib/envelope.test-helpers.js';

const schema = `rekey_bisect_${randomBytes(4).toString('hex')}`;
const table = `${schema}.cases`;
let pg: Sequelize;
let store: StateStore;
let ledger: Ledger;

beforeAll(async () => {
  pg = new Sequelize(PG_URL, { logging: false });
  await pg.query(`
    CREATE SCHEMA ${schema};
    CREATE TABLE ${table} (id serial PRIMARY KEY, submission_key text NOT NULL UNIQUE, ref text NOT NULL, surname text NOT NULL, postcode text);
    CREATE FUNCTION ${schema}.refuse_r03() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.ref = 'R03' THEN RAISE EXCEPTION 'could not serialize access' USING ERRCODE = '40001'; END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER refuse_r03 BEFORE INSERT ON ${table} FOR EACH ROW EXECUTE FUNCTION ${schema}.refuse_r03();
  `);
}, 60_000);
afterAll(async () => {
  await pg?.query(`DROP SCHEMA ${schema} CASCADE`);
  await pg?.close();
});
beforeEach(async () => {
  store = await openStateStore(`sqlite:${join(mkdtempSync(join(tmpdir(), 'rekey-bisect-pg-')), 'state.sqlite')}`);
  ledger = new Ledger(store, new AuditLog(store), TEST_KEYS);
});
afterEach(() => store.close());

describe('a poison row on PostgreSQL (a trigger raising 40001 for it)', () => {
  it('delivers the nine others exactly once and dead-letters only the poison', async () => {
    const refs = Array.from({ length: 10 }, (_, i) => `R${String(i).padStart(2, '0')}`);
    const target = sqlTarget.create({ url: PG_URL, table, keyColumn: 'SUBMISSION_KEY', refColumn: 'ID' }, { baseDir: '.', pipeline: 'flow-test' });
    const calls: Outcome['status'][][] = [];
    const p = testPipeline(arraySource(refs.map((r) => submission(r))), target, { batchSize: 10, retryDelay: () => 0 });
    const r = await runPass(p, ledger, testOptions({ observe: { delivery: (d) => calls.push(d.outcomes.map((o) => o.status)) } }));

    expect(r).toMatchObject({ read: 10, delivered: 9, dead: 1, waitingRetry: 0 });
    expect(calls.map((c) => c.length)).toEqual([10, 10, 5, 3, 2, 1, 1, 5, 1]);
    expect(calls.map((c) => c.every((s) => s === 'delivered'))).toEqual([false, false, false, true, false, false, true, true, false]);
    const rows = await pg.query<{ ref: string; n: string }>(`SELECT ref, COUNT(*) AS n FROM ${table} GROUP BY ref ORDER BY ref`, { type: QueryTypes.SELECT });
    expect(rows).toEqual(refs.filter((x) => x !== 'R03').map((ref) => ({ ref, n: '1' })));
    const poison = await ledger.get('flow-test', 'F/R03');
    expect(poison).toMatchObject({ state: 'dead', attempts: 3 });
    expect(poison?.lastError).toMatchObject({ code: 'SQL_BUSY', disposition: 'retry' });
    for (const ref of refs.filter((x) => x !== 'R03')) expect((await ledger.get('flow-test', `F/${ref}`))?.state, ref).toBe('delivered');
  }, 60_000);
});
