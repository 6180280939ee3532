/**
 * PostgreSQL's SQL for the writer, and what its errors mean, by SQLSTATE.
 * Statements use `$N` parameters (Sequelize's bind syntax, which pg takes as
 * is); key lists travel as one array parameter (`= ANY($1)`).
 */
import type { SqlDialect, SqlErrorInfo, SqlErrorKind, SqlStatement } from './sql.dialect.js';
import { driverError, identifiersIn, placeholders } from './sql.dialect-kit.js';

/** Most bind parameters in one statement (the protocol counts them in 16 bits). */
export const PG_MAX_PARAMS = 65_535;

const EXACT: Readonly<Record<string, SqlErrorKind>> = {
  P0001: 'constraint',
  '40001': 'busy',
  '40P01': 'busy',
  '55P03': 'busy',
  '57014': 'transient',
  '57P01': 'transient',
  '57P02': 'transient',
  '57P03': 'transient',
  '55000': 'fatal',
  '55006': 'fatal',
  '25006': 'fatal',
};

/** Two-character SQLSTATE classes. */
const CLASSES: Readonly<Record<string, SqlErrorKind>> = {
  '23': 'constraint',
  '22': 'constraint',
  '40': 'busy',
  '08': 'transient',
  '53': 'transient',
  '58': 'transient',
  '42': 'fatal',
  '28': 'fatal',
  '3D': 'fatal',
  '3F': 'fatal',
  '0A': 'fatal',
  '44': 'fatal',
};

const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * Classifies a PostgreSQL error (raw from pg or wrapped by Sequelize) by its
 * SQLSTATE: integrity (23), data (22) and RAISE EXCEPTION (P0001) reject the
 * record; serialization failures and deadlocks (40), lock timeouts, cancelled
 * statements, connection (08) and resource (53) errors are retried; syntax,
 * missing tables or columns, permissions (42, 28, 3D) and writes into a
 * read-only view are fatal. An error without a SQLSTATE is transient.
 */
export function classifyPostgresError(error: unknown): SqlErrorInfo {
  const e = driverError(error);
  const code = e.code ?? '';
  const kind = EXACT[code] ?? CLASSES[code.slice(0, 2)] ?? (NETWORK.has(code) ? 'transient' : 'transient');
  const table = e.table ? `${e.table}_` : '';
  const fromConstraint = e.constraint?.startsWith(table) ? e.constraint.slice(table.length).replace(/_(check|key|fkey|excl)\d*$/, '') : undefined;
  const names = [e.column, fromConstraint, e.constraint, ...identifiersIn(e.message)].filter((n): n is string => typeof n === 'string' && n.length > 0);
  const info: SqlErrorInfo = { kind, message: e.message, names };
  if (code.startsWith('28') || code === '42501') info.access = true;
  if (e.constraint) info.constraint = e.constraint;
  if (code) info.state = code;
  return info;
}

function quote(identifier: string): string {
  return identifier
    .split('.')
    .map((p) => `"${p.replace(/"/g, '""')}"`)
    .join('.');
}

/** PostgreSQL: `ON CONFLICT (key) DO NOTHING`, keys as one array parameter, dates and booleans bound as they are. */
export const postgresDialect: SqlDialect = {
  name: 'postgres',
  quote,
  maxParams: PG_MAX_PARAMS,
  maxRows: (width) => Math.max(1, Math.floor(PG_MAX_PARAMS / width)),
  insertSkippingKeys(table, columns, rows, keyColumn): SqlStatement {
    const tuples = rows.map((_, r) => `(${placeholders(r * columns.length + 1, columns.length)})`);
    return {
      sql: `INSERT INTO ${quote(table)} (${columns.map(quote).join(', ')}) VALUES ${tuples.join(', ')} ON CONFLICT (${quote(keyColumn)}) DO NOTHING`,
      params: rows.flat(),
    };
  },
  insertPlain(table, columns, rows): SqlStatement {
    const tuples = rows.map((_, r) => `(${placeholders(r * columns.length + 1, columns.length)})`);
    return { sql: `INSERT INTO ${quote(table)} (${columns.map(quote).join(', ')}) VALUES ${tuples.join(', ')}`, params: rows.flat() };
  },
  insertReturning(table, columns, values, keyColumn, ref) {
    return {
      sql: `INSERT INTO ${quote(table)} (${columns.map(quote).join(', ')}) VALUES (${placeholders(1, columns.length)}) ON CONFLICT (${quote(keyColumn)}) DO NOTHING RETURNING ${quote(ref.column)} AS "rekey_ref"`,
      params: values,
    };
  },
  updateByKey(table, columns, values, keyColumn, key): SqlStatement {
    const sets = columns.map((c, i) => `${quote(c)} = $${i + 1}`).join(', ');
    return { sql: `UPDATE ${quote(table)} SET ${sets} WHERE ${quote(keyColumn)} = $${columns.length + 1}`, params: [...values, key] };
  },
  maxKeys: 50_000,
  keyIn: (column, keys) => ({ sql: `${column} = ANY($1)`, params: [[...keys]] }),
  keyLookup: (table, column, baseType, keys, select, from) => ({
    sql:
      `SELECT ${select} FROM unnest($1::${baseType}[]) AS rekey_k(rekey_v) CROSS JOIN LATERAL (SELECT * FROM ${table} WHERE ${column} = rekey_k.rekey_v LIMIT 1) AS ${from?.alias ?? 'rekey_t'}` +
      (from ? ` ${from.join}${from.orderBy ? ` ${from.orderBy}` : ''}` : ''),
    params: [[...keys]],
  }),
  savepoint: (name) => `SAVEPOINT ${quote(name)}`,
  rollbackTo: (name) => [`ROLLBACK TO SAVEPOINT ${quote(name)}`, `RELEASE SAVEPOINT ${quote(name)}`],
  release: (name) => [`RELEASE SAVEPOINT ${quote(name)}`],
  toDb: (value) => (typeof value === 'bigint' ? value.toString() : value),
  classify: classifyPostgresError,
};
