/**
 * What the dialect-neutral SQL writer needs from a database: quoting, the
 * INSERT that leaves existing keys alone, the condition that finds rows by
 * key, savepoints, values, and what an error means. One implementation per
 * database.
 */

import type { SqlProcedureConfig, SqlTableSpec } from './sql.config.js';

/** What the runner must do about a database error. */
export type SqlErrorKind =
  /** This record's data was refused (NOT NULL, CHECK, UNIQUE, foreign key, type): reject it. */
  | 'constraint'
  /** Another writer holds a lock: try the batch later. */
  | 'busy'
  /** The database may come back (I/O, connection lost): try the batch later. */
  | 'transient'
  /** Table, columns or permissions are wrong: stop the pipeline. */
  | 'fatal';

/** A database error, classified; `message` is the database's own (without driver prefixes). */
export interface SqlErrorInfo {
  kind: SqlErrorKind;
  message: string;
  /** Identifiers named in the message, in order (candidates for the offending column). */
  names: string[];
  /** The database refused the user: a wrong user or password, or a missing grant (a `fatal` error). */
  access?: true;
  /** The constraint the database names, when its error says which (a schema name). */
  constraint?: string;
  /** The database's error code (SQLSTATE, `SQLITE_CONSTRAINT`, `ER_DUP_ENTRY`), when it gives one. */
  state?: string;
}

/**
 * SQL and its bind parameters, in the dialect's own placeholder syntax
 * (SQLite `?1`, PostgreSQL `$1`...): only the dialect that built it knows
 * how its values are passed (one by one, or packed in one parameter).
 */
export interface SqlStatement {
  readonly sql: string;
  readonly params: readonly unknown[];
}

/** One database's SQL. */
export interface SqlDialect {
  readonly name: string;
  /** Quotes an identifier, or a dotted `schema.table`. */
  quote(identifier: string): string;
  /** Most bind parameters one statement may carry. */
  readonly maxParams: number;
  /** Most rows one {@link insertSkippingKeys} statement may carry when each row has `width` columns (at least 1). */
  maxRows(width: number): number;
  /**
   * INSERT of `rows` (one value per column, as {@link toDb} made it), in
   * order, that skips a row whose key already exists. A failing row fails
   * the whole statement.
   */
  insertSkippingKeys(table: string, columns: readonly string[], rows: readonly (readonly unknown[])[], keyColumn: string): SqlStatement;
  /** Plain multi-row INSERT of `rows` (child rows: no key to skip on). */
  insertPlain(table: string, columns: readonly string[], rows: readonly (readonly unknown[])[]): SqlStatement;
  /**
   * INSERT of one parent row that yields its `ref` column as `rekey_ref`:
   * run `sql` as a select, or, when `then` is given, run `sql` and then
   * select `then`. No row back means the key was already there (where the
   * dialect skips existing keys) or the reference must be found by key.
   */
  insertReturning(table: string, columns: readonly string[], values: readonly unknown[], keyColumn: string, ref: { column: string; generated: boolean }): SqlStatement & { then?: string };
  /** UPDATE of the row whose `keyColumn` holds `key`, setting `columns` to `values` (as {@link toDb} made them). */
  updateByKey(table: string, columns: readonly string[], values: readonly unknown[], keyColumn: string, key: unknown): SqlStatement;
  /** Most keys one {@link keyIn} condition may carry. */
  readonly maxKeys: number;
  /** A condition true where `column` (already quoted) holds one of `keys`; the statement's only parameters. */
  keyIn(column: string, keys: readonly string[]): SqlStatement;
  /**
   * Where the database would rather scan the whole table than look a long
   * key list up in the key's index (PostgreSQL's cost model does, for a few
   * thousand keys, and more so while the table's statistics lag behind a
   * bulk load, so each batch costs more as the table grows): `SELECT
   * select` of the rows of `table` whose `column` (both quoted; the column
   * unique and indexed, of type `baseType`) holds one of `keys`, one index
   * lookup per key. Columns in `select` are unqualified, unless `from`
   * names the matched rows `from.alias` and joins other tables to them
   * (`from.join`, then `from.orderBy`).
   */
  keyLookup?(table: string, column: string, baseType: string, keys: readonly string[], select: string, from?: KeyedFrom): SqlStatement;
  savepoint(name: string): string;
  /** SQL that undoes back to the savepoint and forgets it (one or more statements, run in order). */
  rollbackTo(name: string): string[];
  release(name: string): string[];
  /** A record value as the database takes it (booleans, dates). */
  toDb(value: string | number | boolean | bigint | Date | null): unknown;
  classify(error: unknown): SqlErrorInfo;
}

/** A transaction in progress, as the writer uses it; SQL comes from the dialect, with its placeholders. */
export interface SqlTx {
  select(sql: string, params?: readonly unknown[]): Promise<Record<string, unknown>[]>;
  execute(sql: string, params?: readonly unknown[]): Promise<void>;
  /** Where the database has a bulk load (PostgreSQL COPY, SQL Server bulk insert): loads `rows` into `table` in the transaction; one refused row fails it all. */
  copyRows?(table: string, columns: readonly string[], rows: readonly (readonly unknown[])[]): Promise<void>;
  /** Where the driver calls procedures with typed parameters itself (SQL Server through `mssql`): calls it and resolves to the OUT parameter's value. */
  callProcedure?(proc: SqlProcedureConfig, values: readonly unknown[]): Promise<unknown>;
}

/** Joins from the rows found by key: they are named `alias` (quoted), `join` follows (JOIN clauses), then `orderBy` (an ORDER BY clause), if any. */
export interface KeyedFrom {
  alias: string;
  join: string;
  orderBy?: string;
}

/**
 * `SELECT select` of the rows of `spec.table` whose `column` (unquoted)
 * holds one of `keys` (at most `dialect.maxKeys`), with the tables `from`
 * joins to them: through the dialect's `keyLookup` where it has one and
 * the column's type is known, else with `keyIn`.
 */
export function selectByKeys(dialect: SqlDialect, spec: Pick<SqlTableSpec, 'table' | 'info'>, column: string, keys: readonly string[], select: string, from?: KeyedFrom): SqlStatement {
  const q = (id: string) => dialect.quote(id);
  const baseType = spec.info?.get(column.toUpperCase())?.baseType;
  if (dialect.keyLookup && baseType) return dialect.keyLookup(q(spec.table), q(column), baseType, keys, select, from);
  const where = dialect.keyIn(from ? `${from.alias}.${q(column)}` : q(column), keys);
  const tables = from ? `${q(spec.table)} ${from.alias} ${from.join}` : q(spec.table);
  return { sql: `SELECT ${select} FROM ${tables} WHERE ${where.sql}${from?.orderBy ? ` ${from.orderBy}` : ''}`, params: where.params };
}
