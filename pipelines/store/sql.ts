/**
 * Small helpers for the hand-written, dialect-neutral SQL the ledger and the
 * audit log run: bind-parameter lists, batching under parameter limits, and
 * reading values the two drivers return differently (dates as text or Date,
 * bigints as text, booleans as 0/1).
 */
import type { Transaction } from 'sequelize';
import type { StateStore } from './state-store.js';

/** `($1,$2,$3),($4,$5,$6)` for `rows` rows of `cols` parameters, numbered from `first`. */
export function valuesList(rows: number, cols: number, first = 1): string {
  const out: string[] = [];
  let n = first;
  for (let r = 0; r < rows; r++) {
    const row: string[] = [];
    for (let c = 0; c < cols; c++) row.push(`$${n++}`);
    out.push(`(${row.join(',')})`);
  }
  return out.join(',');
}

/** `$first,...` for a list of `count` parameters (for `IN (...)`). */
export function paramList(count: number, first = 1): string {
  return Array.from({ length: count }, (_, i) => `$${first + i}`).join(',');
}

/** Splits `items` into slices of at most `size`. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Inserts `rows` (each an array in `columns` order) in as few statements as
 * the database allows; `suffix` is appended to each (e.g. `ON CONFLICT DO
 * NOTHING`). PostgreSQL: multi-row `VALUES`, chunked under its 65,535
 * bind-parameter limit. SQLite: one statement reading the rows from a single
 * JSON parameter (`json_each`), since node-sqlite3 binds Sequelize's
 * parameters by name, which costs time quadratic in their number.
 */
export async function insertMany(
  store: StateStore,
  table: string,
  columns: readonly string[],
  rows: readonly unknown[][],
  t: Transaction,
  suffix = '',
): Promise<void> {
  if (!rows.length) return;
  if (store.dialect === 'sqlite') {
    const pick = columns.map((_, i) => `json_extract(value, '$[${i}]')`).join(', ');
    await store.exec(`INSERT INTO ${table} (${columns.join(',')}) SELECT ${pick} FROM json_each($1) WHERE true ${suffix}`, [JSON.stringify(rows)], t);
    return;
  }
  const perStatement = Math.max(1, Math.floor(store.maxBindParams / columns.length));
  for (const part of chunks(rows, perStatement)) {
    const sql = `INSERT INTO ${table} (${columns.join(',')}) VALUES ${valuesList(part.length, columns.length)} ${suffix}`;
    await store.exec(sql, part.flat(), t);
  }
}

/**
 * SQL that tests `column` against a list of text values passed as ONE
 * parameter `$n` (see `listParam`): `IN (SELECT value FROM json_each($n))`
 * on SQLite, `= ANY($n::text[])` on PostgreSQL. Both use the index.
 */
export function inList(store: StateStore, column: string, n: number): string {
  return store.dialect === 'sqlite' ? `${column} IN (SELECT value FROM json_each($${n}))` : `${column} = ANY($${n}::text[])`;
}

/** The parameter value `inList` expects for `values`. */
export function listParam(store: StateStore, values: readonly string[]): unknown {
  return store.dialect === 'sqlite' ? JSON.stringify(values) : [...values];
}

/** A timestamp as stored: ISO 8601 UTC with milliseconds (sorts as text on SQLite). */
export function iso(d: Date): string {
  return d.toISOString();
}

/** Reads a timestamp column (SQLite gives text, PostgreSQL a Date). */
export function readDate(v: unknown): Date | null {
  if (v === null || v === undefined) return null;
  return v instanceof Date ? v : new Date(String(v));
}

/** Reads a timestamp column that is never null. */
export function readDateStrict(v: unknown): Date {
  return readDate(v) ?? new Date(NaN);
}

/** Reads an integer column (PostgreSQL gives bigints as text). */
export function readInt(v: unknown): number {
  return typeof v === 'number' ? v : Number(v);
}

/** Reads a boolean column (SQLite gives 0/1). */
export function readBool(v: unknown): boolean {
  return v === true || v === 1 || v === '1' || v === 't' || v === 'true';
}

/** Parses a JSON text column; null stays null. */
export function readJson<T>(v: unknown): T | null {
  if (v === null || v === undefined) return null;
  return JSON.parse(String(v)) as T;
}
