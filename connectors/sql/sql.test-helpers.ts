/**
 * Test helpers for the SQL target against the real servers on this machine:
 * a fresh copy of the DVLA-like legacy schema (fixtures/legacy/) in a
 * schema (PostgreSQL) or database (MariaDB) of its own, dropped after.
 * URLs: REKEY_TEST_PG_URL, REKEY_TEST_MARIADB_URL.
 */
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { QueryTypes, Sequelize } from 'sequelize';
import { root } from '../../runner/cli.test-helpers.js';
import pino from 'pino';
import type { Ctx, MappedRecord } from '../connector.types.js';

/** PostgreSQL the tests use. */
export const PG_URL = process.env.REKEY_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
/** MariaDB the tests use. */
export const MARIADB_URL = process.env.REKEY_TEST_MARIADB_URL ?? 'mariadb://root@127.0.0.1:3306/test';

/** A legacy schema made for one test file. */
export interface LegacyDb {
  dialect: 'postgres' | 'mariadb' | 'mssql' | 'sqlite';
  /** URL the target is given. */
  url: string;
  /** A table as a target config names it (`schema.cases` on PostgreSQL, `CASES` on MariaDB). */
  t(name: string): string;
  /** Runs SQL on the schema with `?` replacements; table names through {@link t}. */
  query(sql: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
  drop(): Promise<void>;
}

const unique = () => `rekey_t_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
const fixture = (file: string) => readFileSync(join(root, 'fixtures/legacy', file), 'utf8');

function querying(db: Sequelize): LegacyDb['query'] {
  return async (sql, params = []) => {
    if (/^\s*select/i.test(sql)) return db.query<Record<string, unknown>>(sql, { type: QueryTypes.SELECT, replacements: params });
    await db.query(sql, { type: QueryTypes.RAW, replacements: params });
    return [];
  };
}

/** A PostgreSQL schema holding dvla.postgres.sql. */
export async function legacyPostgres(): Promise<LegacyDb> {
  const schema = unique();
  const db = new Sequelize(PG_URL, { logging: false });
  await db.query(`CREATE SCHEMA ${schema}; SET search_path TO ${schema};\n${fixture('dvla.postgres.sql')}`);
  return {
    dialect: 'postgres',
    url: PG_URL,
    t: (name) => `${schema}.${name.toLowerCase()}`,
    query: querying(db),
    drop: async () => {
      await db.query(`DROP SCHEMA ${schema} CASCADE`);
      await db.close();
    },
  };
}

/** A MariaDB database holding dvla.mariadb.sql. */
export async function legacyMariaDb(): Promise<LegacyDb> {
  const name = unique();
  const u = new URL(MARIADB_URL);
  const admin = new Sequelize(MARIADB_URL, { logging: false, dialect: 'mariadb' });
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.close();
  u.pathname = `/${name}`;
  const db = new Sequelize(u.toString(), { logging: false, dialect: 'mariadb', dialectOptions: { multipleStatements: true } });
  await db.query(fixture('dvla.mariadb.sql'));
  return {
    dialect: 'mariadb',
    url: u.toString(),
    t: (table) => table.toUpperCase(),
    query: querying(db),
    drop: async () => {
      await db.query(`DROP DATABASE ${name}`);
      await db.close();
    },
  };
}

/** SQL Server the tests use, when there is one (`mssql://sa:...@host:1433/master?encrypt=false&trustServerCertificate=true`). */
export const MSSQL_URL = process.env.REKEY_TEST_MSSQL_URL;

/** A SQL Server database holding dvla.mssql.sql (its batches split at GO lines). */
export async function legacyMssql(): Promise<LegacyDb> {
  if (!MSSQL_URL) throw new Error('REKEY_TEST_MSSQL_URL is not set');
  const { parseSqlUrl } = await import('./sql.url.js');
  const { sequelizeOptions } = await import('./server.target.js');
  const name = unique();
  const connect = (url: string) => new Sequelize(sequelizeOptions(parseSqlUrl(url) as Parameters<typeof sequelizeOptions>[0], {}));
  const admin = connect(MSSQL_URL);
  await admin.query(`CREATE DATABASE ${name}`);
  const u = new URL(MSSQL_URL);
  u.pathname = `/${name}`;
  const db = connect(u.toString());
  for (const batch of fixture('dvla.mssql.sql').split(/^GO\s*$/m)) if (batch.trim()) await db.query(batch);
  return {
    dialect: 'mssql',
    url: u.toString(),
    t: (table) => table.toUpperCase(),
    query: async (sql, params = []) => {
      if (/^\s*select/i.test(sql)) return db.query<Record<string, unknown>>(sql, { type: QueryTypes.SELECT, replacements: params });
      await db.query(sql, { type: QueryTypes.RAW, replacements: params });
      return [];
    },
    drop: async () => {
      await db.close();
      await admin.query(`ALTER DATABASE ${name} SET SINGLE_USER WITH ROLLBACK IMMEDIATE; DROP DATABASE ${name}`);
      await admin.close();
    },
  };
}

/** A silent connector context for the target tests. */
export const caseCtx: Ctx = { log: pino({ level: 'silent' }), signal: new AbortController().signal, attempt: 1 };
/** A driver number in the DVLA fixture, and one whose licence is revoked (its trigger refuses cases). */
export const DRIVER = 'MORGA657054SM9IJ';
export const REVOKED = 'REVOK657054SM9IJ';

/** A change-of-address case for the DVLA fixture's `cases` table, with `over` on top. */
export const caseRecord = (key: string, over: Record<string, unknown> = {}, uncertain = false): MappedRecord => ({
  key,
  record: { CASE_TYPE: 'COA', WEB_REF: 'WEB00001', DRIVER_NO: DRIVER, SURNAME: 'MORGAN', FORENAMES: 'SARAH JANE', POSTCODE: 'SW1A 1AA', MOVE_DATE: '01.02.2024', ...over },
  children: {},
  mappingVersion: 'sha256:x',
  uncertain,
});

/** A context whose log (warn and above) is kept as text, to check what was logged and what was not. */
export function loggedCtx(): { ctx: Ctx; text: () => string } {
  let text = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString();
      done();
    },
  });
  return { ctx: { log: pino({ level: 'warn' }, sink), signal: new AbortController().signal, attempt: 1 }, text: () => text };
}
