import { Sequelize, QueryTypes } from 'sequelize';
import { afterAll, describe, expect, it } from 'vitest';
import { PG_URL } from '../connectors/sql/sql.test-helpers.js';
import { reportTransactionFailures, type TransactionFailure } from './sequelize-transactions.js';

// What reaches console.warn once the hook is installed (the hook wraps the console.warn it finds).
const warned: string[] = [];
console.warn = (...args: unknown[]) => void warned.push(args.map(String).join(' '));
const failures: TransactionFailure[] = [];
reportTransactionFailures((f) => failures.push(f));

const dbs: Sequelize[] = [];
afterAll(async () => {
  for (const db of dbs) await db.close();
});

function open(): Sequelize {
  const db = new Sequelize(PG_URL, { logging: false });
  dbs.push(db);
  return db;
}

describe('a COMMIT on a connection the database has ended (PostgreSQL, pg_terminate_backend)', () => {
  it('reaches the reporter as action, dialect and code, and Sequelize\'s raw line never reaches console.warn', async () => {
    const db = open();
    const killer = open();
    const t = await db.transaction();
    const [{ pid }] = (await db.query('SELECT pg_backend_pid() AS pid, $1::text AS canary', { type: QueryTypes.SELECT, transaction: t, bind: ['Zqx7Canary'] })) as [{ pid: number }];
    await killer.query('SELECT pg_terminate_backend($1)', { type: QueryTypes.SELECT, bind: [pid] });
    await expect(t.commit()).rejects.toThrow();
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ action: 'commit', dialect: 'postgres' });
    expect(JSON.stringify(failures)).not.toMatch(/terminat|Zqx7Canary/i);
    expect(warned.filter((l) => /transaction/i.test(l))).toEqual([]);
    console.warn('another warning');
    expect(warned).toEqual(['another warning']);
    // The pool carries on with a new connection.
    expect(await db.query('SELECT 1 AS one', { type: QueryTypes.SELECT })).toEqual([{ one: 1 }]);
  });

  it('a ROLLBACK that fails likewise, and Sequelize\'s own refusal (already finished) is not reported', async () => {
    const db = open();
    const killer = open();
    const t = await db.transaction();
    const [{ pid }] = (await db.query('SELECT pg_backend_pid() AS pid', { type: QueryTypes.SELECT, transaction: t })) as [{ pid: number }];
    await killer.query('SELECT pg_terminate_backend($1)', { type: QueryTypes.SELECT, bind: [pid] });
    const before = failures.length;
    await expect(t.rollback()).rejects.toThrow();
    expect(failures.slice(before)).toEqual([expect.objectContaining({ action: 'rollback', dialect: 'postgres' })]);
    await expect(t.rollback()).rejects.toThrow(/Transaction cannot be rolled back/);
    expect(failures).toHaveLength(before + 1);
    expect(warned.filter((l) => /transaction/i.test(l))).toEqual([]);
  });
});
