import { QueryTypes, Sequelize } from 'sequelize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestStore, pgSkipReason, PG_URL, type TestStore } from './store.test-helpers.js';
import { PipelineError } from '../pipeline.errors.js';

describe.skipIf(Boolean(pgSkipReason))('the PostgreSQL state store losing its connection', () => {
  let ts: TestStore;
  let killer: Sequelize;
  beforeAll(async () => {
    ts = await openTestStore('postgres');
    killer = new Sequelize(PG_URL, { logging: false });
  });
  afterAll(async () => {
    await killer?.close();
    await ts?.dispose();
  });

  it('is STORE_UNAVAILABLE naming the store and the code, never the driver\'s message; nothing of the transaction is kept, and the store goes on', async () => {
    await ts.store.exec('CREATE TABLE lost_conn (v text)');
    const failure = await ts.store
      .transaction(async (t) => {
        await ts.store.exec("INSERT INTO lost_conn VALUES ('Zqx7Canary')", [], t);
        const [row] = await ts.store.select<{ pid: number }>('SELECT pg_backend_pid() AS pid', [], t);
        const pid = row?.pid;
        await killer.query('SELECT pg_terminate_backend($1)', { type: QueryTypes.SELECT, bind: [pid] });
        await ts.store.exec("INSERT INTO lost_conn VALUES ('second')", [], t);
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(failure).toBeInstanceOf(PipelineError);
    const e = failure as PipelineError;
    expect(e.code).toBe('STORE_UNAVAILABLE');
    // Whether the driver still holds PostgreSQL's 57P01 when the next statement fails depends on
    // which arrives first, the server's notice or that statement; without it there is no code to name.
    expect(e.message).toMatch(/^lost the connection to the state store \S+( \(code 57P01\))?: what was being written is not assumed written; the next pass finishes the work$/);
    expect(e.message).not.toMatch(/terminat|Zqx7Canary/i);
    expect(await ts.store.select('SELECT v FROM lost_conn')).toEqual([]);
  });

  it('leaves other errors as they are', async () => {
    await expect(ts.store.select('SELECT * FROM no_such_table_here')).rejects.toMatchObject({ name: 'SequelizeDatabaseError' });
  });
});
