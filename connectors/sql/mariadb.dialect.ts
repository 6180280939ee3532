/**
 * MariaDB's (and MySQL's) SQL for the writer, and what its errors mean, by
 * errno. Statements use `$N` parameters (Sequelize's bind syntax, sent as
 * `?`). A plain INSERT: the writer has already probed the keys in the same
 * transaction, and a key another writer inserted since fails as a duplicate,
 * which the writer reads back as already present. (`INSERT IGNORE` would
 * also turn every other refused value into a warning, and `ON DUPLICATE
 * KEY` fires on any unique index, not only the key.)
 */
import type { SqlDialect, SqlErrorInfo, SqlErrorKind, SqlStatement } from './sql.dialect.js';
import { driverError, identifiersIn, placeholders } from './sql.dialect-kit.js';

/** Most `?` parameters in one prepared or client-bound statement. */
export const MARIADB_MAX_PARAMS = 65_535;

const ERRNO: Readonly<Record<number, SqlErrorKind>> = {
  1048: 'constraint', // column cannot be null
  1062: 'constraint', // duplicate entry
  1216: 'constraint',
  1217: 'constraint',
  1264: 'constraint', // out of range
  1265: 'constraint', // data truncated
  1292: 'constraint', // incorrect date/time value
  1364: 'constraint', // field has no default
  1366: 'constraint', // incorrect string value (charset)
  1406: 'constraint', // data too long
  1451: 'constraint',
  1452: 'constraint', // foreign key
  1644: 'constraint', // SIGNAL from a trigger or procedure (business rule)
  3819: 'constraint', // MySQL CHECK
  4025: 'constraint', // MariaDB CHECK
  1205: 'busy', // lock wait timeout
  1213: 'busy', // deadlock
  1040: 'transient',
  1053: 'transient',
  1927: 'transient', // connection killed
  1969: 'transient', // max_statement_time exceeded
  2002: 'transient',
  2003: 'transient',
  2006: 'transient',
  2013: 'transient',
  1044: 'fatal', // access denied to database
  1045: 'fatal', // access denied for user
  1698: 'fatal', // access denied for user, as MariaDB says it without "using password" (auth plugin refused)
  1049: 'fatal', // unknown database
  1054: 'fatal', // unknown column
  1064: 'fatal', // syntax
  1142: 'fatal', // command denied (table permission)
  1143: 'fatal', // column permission
  1146: 'fatal', // no such table
  1288: 'fatal', // target table is not updatable
  1347: 'fatal', // object is not a base table
  1356: 'fatal', // view references invalid objects
  1395: 'fatal', // cannot delete from join view
  1471: 'fatal', // target table is not insertable-into
  1290: 'fatal', // read-only server
  1792: 'fatal', // read-only transaction
};

/** Errors that mean the server refused the user: to the database, the login itself, a table, a column. */
const ACCESS_DENIED = new Set([1044, 1045, 1142, 1143, 1698]);

/**
 * Classifies a MariaDB/MySQL error (raw from the mariadb driver or wrapped
 * by Sequelize) by errno: refused data, and SIGNAL raised by a trigger,
 * reject the record; deadlocks and lock timeouts are `busy`; lost
 * connections and statement timeouts are transient; unknown tables and
 * columns, permissions, non-insertable views and read-only servers are
 * fatal. Errors without a known errno (the driver's own pool and socket
 * errors) are transient. A duplicate entry's value is left out of the
 * message: it may be personal data.
 */
export function classifyMariaDbError(error: unknown): SqlErrorInfo {
  const e = driverError(error);
  const kind = (e.errno !== undefined && ERRNO[e.errno]) || (e.sqlState === '45000' ? 'constraint' : 'transient');
  const message = e.message.replace(/^\(conn[^)]*\)\s*/, '').replace(/^Duplicate entry '(?:[^'\\]|\\.|'')*'/, "Duplicate entry '…'").replace(/\n[\s\S]*$/, '');
  const names = identifiersIn(message).filter((n) => n !== '…');
  return e.errno !== undefined && ACCESS_DENIED.has(e.errno) ? { kind, message, names, access: true } : { kind, message, names };
}

function quote(identifier: string): string {
  return identifier
    .split('.')
    .map((p) => `\`${p.replace(/`/g, '``')}\``)
    .join('.');
}

/** MariaDB/MySQL: plain multi-row INSERT (see the module comment), backquoted names. */
export const mariadbDialect: SqlDialect = {
  name: 'mariadb',
  quote,
  maxParams: MARIADB_MAX_PARAMS,
  maxRows: (width) => Math.max(1, Math.floor(MARIADB_MAX_PARAMS / width)),
  insertSkippingKeys(table, columns, rows): SqlStatement {
    const tuples = rows.map((_, r) => `(${placeholders(r * columns.length + 1, columns.length)})`);
    return { sql: `INSERT INTO ${quote(table)} (${columns.map(quote).join(', ')}) VALUES ${tuples.join(', ')}`, params: rows.flat() };
  },
  insertPlain(table, columns, rows): SqlStatement {
    return mariadbDialect.insertSkippingKeys(table, columns, rows, '');
  },
  insertReturning(table, columns, values, _keyColumn, ref) {
    const sql = `INSERT INTO ${quote(table)} (${columns.map(quote).join(', ')}) VALUES (${placeholders(1, columns.length)})`;
    return ref.generated ? { sql, params: values, then: 'SELECT LAST_INSERT_ID() AS `rekey_ref`' } : { sql, params: values, then: 'SELECT NULL AS `rekey_ref` FROM DUAL WHERE FALSE' };
  },
  updateByKey(table, columns, values, keyColumn, key): SqlStatement {
    const sets = columns.map((c, i) => `${quote(c)} = $${i + 1}`).join(', ');
    return { sql: `UPDATE ${quote(table)} SET ${sets} WHERE ${quote(keyColumn)} = $${columns.length + 1}`, params: [...values, key] };
  },
  maxKeys: 10_000,
  keyIn: (column, keys) => ({ sql: `${column} IN (${placeholders(1, keys.length)})`, params: keys }),
  savepoint: (name) => `SAVEPOINT ${quote(name)}`,
  rollbackTo: (name) => [`ROLLBACK TO SAVEPOINT ${quote(name)}`, `RELEASE SAVEPOINT ${quote(name)}`],
  release: (name) => [`RELEASE SAVEPOINT ${quote(name)}`],
  toDb: (value) => (typeof value === 'bigint' ? value.toString() : value),
  classify: classifyMariaDbError,
};
