/**
 * SQLite's SQL for the writer, and what its errors mean. The sqlite3
 * driver's errors carry only the primary result code (`SQLITE_CONSTRAINT`,
 * `SQLITE_BUSY`, ...) and the message; Sequelize wraps them in `parent`.
 *
 * Statements use numbered `?N` parameters, bound by position. Rows travel
 * as one JSON array parameter read back with `jsonb_each` (each row an array
 * in column order), key lists as one read with `json_each`: the main thread
 * then pays one `JSON.stringify` rather than one driver conversion per value,
 * and SQLite no name lookups. JSON carries exactly what binding would only
 * for text, NULL and 32-bit integers (the driver binds any other number as a
 * REAL, which SQLite's reading of JSON text does not always reproduce bit for
 * bit) and for text without unpaired surrogates (the driver binds U+FFFD for
 * them); a statement with any other value gets one parameter per value.
 */
import type { SqlDialect, SqlErrorInfo, SqlErrorKind, SqlStatement } from './sql.dialect.js';

const KINDS: Readonly<Record<string, SqlErrorKind>> = {
  SQLITE_CONSTRAINT: 'constraint',
  SQLITE_MISMATCH: 'constraint',
  SQLITE_TOOBIG: 'constraint',
  SQLITE_BUSY: 'busy',
  SQLITE_LOCKED: 'busy',
  SQLITE_ERROR: 'fatal',
  SQLITE_READONLY: 'fatal',
  SQLITE_CORRUPT: 'fatal',
  SQLITE_NOTADB: 'fatal',
  SQLITE_PERM: 'fatal',
  SQLITE_AUTH: 'fatal',
  SQLITE_SCHEMA: 'transient',
  SQLITE_IOERR: 'transient',
  SQLITE_FULL: 'transient',
  SQLITE_CANTOPEN: 'transient',
  SQLITE_PROTOCOL: 'transient',
  SQLITE_NOMEM: 'transient',
};

/** Most `?N` parameters in one statement (SQLITE_MAX_VARIABLE_NUMBER is 32766). */
const MAX_PARAMS = 32_000;

function driverError(error: unknown): { code?: string; message: string } {
  const e = error as { parent?: unknown; original?: unknown; code?: unknown; message?: unknown };
  const inner = (e?.parent ?? e?.original ?? e) as { code?: unknown; message?: unknown };
  const message = typeof inner?.message === 'string' ? inner.message : String(error);
  return typeof inner?.code === 'string' ? { code: inner.code, message } : { message };
}

/** Classifies a SQLite error (raw or wrapped by Sequelize); unknown codes are `transient`. */
export function classifySqliteError(error: unknown): SqlErrorInfo {
  const { code, message } = driverError(error);
  const text = message.replace(/^SQLITE_[A-Z_]+: /, '');
  const kind = (code && KINDS[code]) || 'transient';
  const detail = /(?:failed|column): (.*)$/.exec(text)?.[1] ?? /column (\S+)$/.exec(text)?.[1] ?? '';
  const info: SqlErrorInfo = { kind, message: text, names: [...detail.matchAll(/[A-Za-z_][A-Za-z0-9_]*/g)].map((m) => m[0]) };
  const check = /^CHECK constraint failed: ([A-Za-z_][A-Za-z0-9_]*)$/.exec(text)?.[1];
  if (check) info.constraint = check;
  if (code) info.state = code;
  return info;
}

function quote(identifier: string): string {
  return identifier
    .split('.')
    .map((p) => `"${p.replace(/"/g, '""')}"`)
    .join('.');
}

/** `?from, ?from+1, ...` for `count` parameters. */
function numbered(from: number, count: number): string {
  return Array.from({ length: count }, (_, i) => `?${from + i}`).join(', ');
}

const carriedByJson = (v: unknown): boolean => v === null || typeof v === 'string' || (typeof v === 'number' && (v | 0) === v);

/** `values` (scalars, or rows of them) as JSON text that reads back as what the driver would bind, or undefined when it cannot. */
function asJson(values: readonly unknown[]): string | undefined {
  for (const v of values) {
    if (Array.isArray(v) ? !v.every(carriedByJson) : !carriedByJson(v)) return undefined;
  }
  const json = JSON.stringify(values);
  return /\\ud[89a-f]/.test(json) ? undefined : json;
}

/** A value the driver can bind: it would bind a bigint as NULL, where Sequelize bound its decimal text. */
const bindable = (v: unknown): unknown => (typeof v === 'bigint' ? v.toString() : v);

/** SQLite: `ON CONFLICT (key) DO NOTHING`, booleans as 1/0, dates as ISO text, row identity `rowid`. */
export const sqliteDialect: SqlDialect = {
  name: 'sqlite',
  quote,
  maxParams: MAX_PARAMS,
  maxRows: (width) => Math.max(1, Math.floor(MAX_PARAMS / width)),
  insertSkippingKeys(table, columns, rows, keyColumn): SqlStatement {
    const into = `INSERT INTO ${quote(table)} (${columns.map(quote).join(', ')})`;
    const skip = `ON CONFLICT (${quote(keyColumn)}) DO NOTHING`;
    const json = asJson(rows);
    if (json !== undefined) {
      const picks = columns.map((_, i) => `value ->> ${i}`).join(', ');
      return { sql: `${into} SELECT ${picks} FROM jsonb_each(?1) WHERE true ORDER BY rowid ${skip}`, params: [json] };
    }
    const tuples = rows.map((_, r) => `(${numbered(r * columns.length + 1, columns.length)})`);
    return { sql: `${into} VALUES ${tuples.join(', ')} ${skip}`, params: rows.flatMap((r) => r.map(bindable)) };
  },
  insertPlain(table, columns, rows): SqlStatement {
    const tuples = rows.map((_, r) => `(${numbered(r * columns.length + 1, columns.length)})`);
    return { sql: `INSERT INTO ${quote(table)} (${columns.map(quote).join(', ')}) VALUES ${tuples.join(', ')}`, params: rows.flatMap((r) => r.map(bindable)) };
  },
  insertReturning(table, columns, values, keyColumn, ref) {
    return {
      sql: `INSERT INTO ${quote(table)} (${columns.map(quote).join(', ')}) VALUES (${numbered(1, columns.length)}) ON CONFLICT (${quote(keyColumn)}) DO NOTHING RETURNING ${ref.column === 'rowid' ? 'rowid' : quote(ref.column)} AS "rekey_ref"`,
      params: values.map(bindable),
    };
  },
  updateByKey(table, columns, values, keyColumn, key): SqlStatement {
    const sets = columns.map((c, i) => `${quote(c)} = ?${i + 1}`).join(', ');
    return { sql: `UPDATE ${quote(table)} SET ${sets} WHERE ${quote(keyColumn)} = ?${columns.length + 1}`, params: [...values.map(bindable), bindable(key)] };
  },
  maxKeys: MAX_PARAMS,
  keyIn(column, keys): SqlStatement {
    const json = asJson(keys);
    if (json !== undefined) return { sql: `${column} IN (SELECT value FROM json_each(?1))`, params: [json] };
    return { sql: `${column} IN (${numbered(1, keys.length)})`, params: keys };
  },
  savepoint: (name) => `SAVEPOINT ${quote(name)}`,
  rollbackTo: (name) => [`ROLLBACK TO ${quote(name)}`, `RELEASE ${quote(name)}`],
  release: (name) => [`RELEASE ${quote(name)}`],
  toDb(value) {
    if (typeof value === 'boolean') return value ? 1 : 0;
    if (value instanceof Date) return value.toISOString();
    return value;
  },
  classify: classifySqliteError,
};
