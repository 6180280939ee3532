/**
 * Test helpers: the real staging databases of this machine (URLs from
 * REKEY_TEST_PG_URL, REKEY_TEST_MARIADB_URL, SQLite files in a temporary
 * folder), a staging table with a random name per test, and a source read
 * to the end.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { QueryTypes, Sequelize } from 'sequelize';
import type { Ctx, SourceItem } from '../connector.types.js';
import type { StagingDialect } from './staging.db.js';
import { StagingTableSource } from './staging.source.js';
import type { StagingSourceConfig } from './staging.config.js';

/** The PostgreSQL test database. */
export const PG_URL = process.env.REKEY_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
/** The MariaDB test database. */
export const MARIADB_URL = process.env.REKEY_TEST_MARIADB_URL ?? 'mariadb://root@127.0.0.1:3306/test';

/** One staging database to test against. */
export interface TestDb {
  dialect: StagingDialect;
  url: string;
  /** Runs SQL on a connection of the test's own; `$n` parameters. */
  query(sql: string, bind?: unknown[]): Promise<Record<string, unknown>[]>;
  /** Identifier quoting of the dialect. */
  id(name: string): string;
  close(): Promise<void>;
}

/** A test database of `dialect`: a fresh SQLite file, or the machine's server. */
export function testDb(dialect: StagingDialect): TestDb {
  const url = dialect === 'postgres' ? PG_URL : dialect === 'mariadb' ? MARIADB_URL : `sqlite:${join(mkdtempSync(join(tmpdir(), 'rekey-staging-')), 'staging.sqlite')}`;
  const s =
    dialect === 'sqlite'
      ? new Sequelize({ dialect: 'sqlite', storage: url.slice('sqlite:'.length), logging: false })
      : new Sequelize(url, { dialect, logging: false, pool: { max: 2 } });
  return {
    dialect,
    url,
    query: async (sql, bind = []) => {
      if (/^\s*SELECT/i.test(sql)) return s.query(sql, { bind, type: QueryTypes.SELECT });
      await s.query(sql, { bind, type: QueryTypes.RAW });
      return [];
    },
    id: (name) => (dialect === 'mariadb' ? `\`${name}\`` : `"${name}"`),
    close: () => s.close(),
  };
}

/** A table name no other test run uses. */
export function uniqueTable(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`.toUpperCase();
}

/** Column types of the status-mode test table by dialect. */
function types(d: StagingDialect): { id: string; text: string; at: string; body: string } {
  if (d === 'postgres') return { id: 'INTEGER', text: 'VARCHAR(200)', at: 'TIMESTAMPTZ', body: 'TEXT' };
  if (d === 'mariadb') return { id: 'INTEGER', text: 'VARCHAR(200)', at: 'DATETIME(3)', body: 'LONGTEXT' };
  return { id: 'INTEGER', text: 'TEXT', at: 'TEXT', body: 'TEXT' };
}

/**
 * Creates a status-mode staging table as a forms platform would: unquoted
 * names (lower case on PostgreSQL), ID, REF, PAYLOAD (JSON text), STATUS,
 * CLAIMED_BY, CLAIMED_AT, ERROR_MESSAGE.
 */
export async function createStatusTable(db: TestDb, table: string): Promise<void> {
  const t = types(db.dialect);
  await db.query(
    `CREATE TABLE ${table} (ID ${t.id} PRIMARY KEY, REF ${t.text} NOT NULL, PAYLOAD ${t.body}, STATUS ${t.text} NOT NULL DEFAULT 'NEW', ` +
      `CLAIMED_BY ${t.text}, CLAIMED_AT ${t.at}, ERROR_MESSAGE ${t.text})`,
  );
}

/** Creates a watermark-mode staging table: ID, SEQ (the watermark), REF, PAYLOAD. */
export async function createWatermarkTable(db: TestDb, table: string): Promise<void> {
  const t = types(db.dialect);
  await db.query(`CREATE TABLE ${table} (ID ${t.id} PRIMARY KEY, SEQ ${t.id} NOT NULL, REF ${t.text} NOT NULL, PAYLOAD ${t.body})`);
}

/** A submission body for row `i`. */
export function submission(i: number): Record<string, unknown> {
  return { form_name: 'Change of address', submission_reference: `REF${String(i).padStart(5, '0')}`, answers: { surname: `Name${i}` } };
}

/** Inserts rows `from..to` (inclusive) with JSON payloads; `extra` adds columns (e.g. SEQ). */
export async function insertRows(db: TestDb, table: string, ids: number[], extra: (i: number) => Record<string, unknown> = () => ({})): Promise<void> {
  for (const i of ids) {
    const row: Record<string, unknown> = { ID: i, REF: `REF${String(i).padStart(5, '0')}`, PAYLOAD: JSON.stringify(submission(i)), ...extra(i) };
    const cols = Object.keys(row);
    await db.query(`INSERT INTO ${table} (${cols.join(', ')}) VALUES (${cols.map((_, n) => `$${n + 1}`).join(', ')})`, Object.values(row));
  }
}

/** A context with a silent logger. */
export function testCtx(signal: AbortSignal = new AbortController().signal): Ctx {
  return { log: pino({ level: 'silent' }), signal, attempt: 1 };
}

/** Every item a read yields. */
export async function readAll(source: StagingTableSource, ctx: Ctx = testCtx()): Promise<SourceItem[]> {
  const out: SourceItem[] = [];
  for await (const item of source.read(ctx)) out.push(item);
  return out;
}

/** The submission references of the ok items. */
export function refs(items: SourceItem[]): string[] {
  return items.filter((i) => i.ok).map((i) => String((i as { body: { submission_reference: string } }).body.submission_reference));
}

/** A source on `db`'s table. */
export function source(db: TestDb, config: Omit<StagingSourceConfig, 'url'>, pipeline = 'staging-test'): StagingTableSource {
  return new StagingTableSource({ url: db.url, ...config }, { baseDir: process.cwd(), pipeline });
}

/** Drops `table` (and nothing else); never throws. */
export async function dropTable(db: TestDb, table: string): Promise<void> {
  await db.query(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
}
