/**
 * SQL Server's SQL for the writer, and what its errors mean, by error
 * number. Statements use `$N` parameters (Sequelize's bind syntax, sent as
 * named `@` parameters); SQL Server takes at most 2,100 parameters per
 * request, so batches are cut to fit. A plain INSERT, as for MariaDB: the
 * writer probes the keys in the same transaction first.
 */
import type { SqlDialect, SqlErrorInfo, SqlErrorKind, SqlStatement } from './sql.dialect.js';
import { driverError, identifiersIn, placeholders } from './sql.dialect-kit.js';

/** Most parameters in one request: SQL Server's limit is 2,100, of which the driver may use one. */
export const MSSQL_MAX_PARAMS = 2_099;

const NUMBER: Readonly<Record<number, SqlErrorKind>> = {
  515: 'constraint', // cannot insert NULL
  547: 'constraint', // CHECK or FOREIGN KEY
  2601: 'constraint', // duplicate key (unique index)
  2627: 'constraint', // duplicate key (constraint)
  2628: 'constraint', // string or binary data would be truncated
  8152: 'constraint',
  245: 'constraint', // conversion failed
  241: 'constraint', // date conversion failed
  242: 'constraint',
  8114: 'constraint',
  8115: 'constraint', // arithmetic overflow
  1205: 'busy', // deadlock victim
  1222: 'busy', // lock request timeout
  3960: 'busy', // snapshot update conflict
  207: 'fatal', // invalid column
  208: 'fatal', // invalid object
  229: 'fatal', // permission denied
  230: 'fatal',
  262: 'fatal',
  4405: 'fatal', // view not updatable (several base tables)
  4406: 'fatal', // view not updatable (derived field)
  3906: 'fatal', // read-only database
  18456: 'fatal', // login failed
  4060: 'fatal', // cannot open database
  102: 'fatal', // syntax
};

/**
 * Classifies a SQL Server error (from mssql/tedious, or wrapped by
 * Sequelize) by number: refused data, and errors a trigger or procedure
 * raises with THROW / RAISERROR (numbers 50000 and up), reject the record;
 * deadlocks and lock timeouts are `busy`; invalid objects or columns,
 * permissions and non-updatable views are fatal; everything else
 * (timeouts, lost connections) is transient.
 */
export function classifyMssqlError(error: unknown): SqlErrorInfo {
  const e = driverError(error);
  const n = e.errno;
  const kind = n === undefined ? 'transient' : (NUMBER[n] ?? (n >= 50_000 ? 'constraint' : 'transient'));
  const message = e.message.replace(/\nThe duplicate key value is \([\s\S]*?\)\./, '').replace(/ The duplicate key value is \(.*\)\.$/, '').replace(/ Truncated value: '.*'\.$/, '');
  return n === 18456 || n === 229 || n === 230 ? { kind, message, names: identifiersIn(message), access: true } : { kind, message, names: identifiersIn(message) };
}

function quote(identifier: string): string {
  return identifier
    .split('.')
    .map((p) => `[${p.replace(/]/g, ']]')}]`)
    .join('.');
}

/** SQL Server: plain multi-row INSERT in statements of at most 2,099 parameters (and 1,000 rows), `[names]`. */
export const mssqlDialect: SqlDialect = {
  name: 'mssql',
  quote,
  maxParams: MSSQL_MAX_PARAMS,
  maxRows: (width) => Math.max(1, Math.min(1000, Math.floor(MSSQL_MAX_PARAMS / width))),
  insertSkippingKeys(table, columns, rows): SqlStatement {
    const tuples = rows.map((_, r) => `(${placeholders(r * columns.length + 1, columns.length)})`);
    return { sql: `INSERT INTO ${quote(table)} (${columns.map(quote).join(', ')}) VALUES ${tuples.join(', ')}`, params: rows.flat() };
  },
  insertPlain(table, columns, rows): SqlStatement {
    return mssqlDialect.insertSkippingKeys(table, columns, rows, '');
  },
  insertReturning(table, columns, values, _keyColumn, ref) {
    return {
      sql: `DECLARE @rekey_ref TABLE ([rekey_ref] sql_variant); INSERT INTO ${quote(table)} (${columns.map(quote).join(', ')}) OUTPUT INSERTED.${quote(ref.column)} INTO @rekey_ref VALUES (${placeholders(1, columns.length)}); SELECT CONVERT(nvarchar(100), [rekey_ref]) AS [rekey_ref] FROM @rekey_ref`,
      params: values,
    };
  },
  updateByKey(table, columns, values, keyColumn, key): SqlStatement {
    const sets = columns.map((c, i) => `${quote(c)} = $${i + 1}`).join(', ');
    return { sql: `UPDATE ${quote(table)} SET ${sets} WHERE ${quote(keyColumn)} = $${columns.length + 1}`, params: [...values, key] };
  },
  maxKeys: MSSQL_MAX_PARAMS,
  keyIn: (column, keys) => ({ sql: `${column} IN (${placeholders(1, keys.length)})`, params: keys }),
  savepoint: (name) => `SAVE TRANSACTION ${quote(name)}`,
  rollbackTo: (name) => [`ROLLBACK TRANSACTION ${quote(name)}`],
  release: () => [],
  toDb: (value) => (typeof value === 'bigint' ? value.toString() : typeof value === 'boolean' ? (value ? 1 : 0) : value),
  classify: classifyMssqlError,
};
