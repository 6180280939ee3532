/**
 * What the dialect-neutral SQL writer needs from a database: quoting, the
 * INSERT that leaves existing keys alone, savepoints, values, and what an
 * error means. One implementation per database.
 */

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
}

/** One database's SQL. Statements use `$1`, `$2`... bind parameters. */
export interface SqlDialect {
  readonly name: string;
  /** Most bind parameters in one statement. */
  readonly maxParams: number;
  /** Quotes an identifier, or a dotted `schema.table`. */
  quote(identifier: string): string;
  /** INSERT of `rows` rows (row-major parameters) that skips a row whose key already exists. */
  insertSkippingKeys(table: string, columns: readonly string[], rows: number, keyColumn: string): string;
  savepoint(name: string): string;
  /** SQL that undoes back to the savepoint and forgets it (one or more statements, run in order). */
  rollbackTo(name: string): string[];
  release(name: string): string[];
  /** A record value as the driver takes it (booleans, dates). */
  toDb(value: string | number | boolean | bigint | Date | null): unknown;
  classify(error: unknown): SqlErrorInfo;
}

/** A transaction in progress, as the writer uses it. */
export interface SqlTx {
  select(sql: string, bind?: unknown[]): Promise<Record<string, unknown>[]>;
  execute(sql: string, bind?: unknown[]): Promise<void>;
}

/** `$from, $from+1, ...` for `count` parameters. */
export function params(from: number, count: number): string {
  return Array.from({ length: count }, (_, i) => `$${from + i}`).join(', ');
}
