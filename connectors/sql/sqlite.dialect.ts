/**
 * SQLite's SQL for the writer, and what its errors mean. The sqlite3
 * driver's errors carry only the primary result code (`SQLITE_CONSTRAINT`,
 * `SQLITE_BUSY`, ...) and the message; Sequelize wraps them in `parent`.
 */
import { params, type SqlDialect, type SqlErrorInfo, type SqlErrorKind } from './sql.dialect.js';

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
  return { kind, message: text, names: [...detail.matchAll(/[A-Za-z_][A-Za-z0-9_]*/g)].map((m) => m[0]) };
}

function quote(identifier: string): string {
  return identifier
    .split('.')
    .map((p) => `"${p.replace(/"/g, '""')}"`)
    .join('.');
}

/** SQLite: `ON CONFLICT (key) DO NOTHING`, booleans as 1/0, dates as ISO text, row identity `rowid`. */
export const sqliteDialect: SqlDialect = {
  name: 'sqlite',
  maxParams: 32_000,
  quote,
  insertSkippingKeys(table, columns, rows, keyColumn) {
    const tuples = Array.from({ length: rows }, (_, r) => `(${params(r * columns.length + 1, columns.length)})`);
    return `INSERT INTO ${quote(table)} (${columns.map(quote).join(', ')}) VALUES ${tuples.join(', ')} ON CONFLICT (${quote(keyColumn)}) DO NOTHING`;
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
