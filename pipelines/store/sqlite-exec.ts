/**
 * Running the state store's statements on a SQLite connection.
 *
 * Sequelize's sqlite dialect hands `$1..$N` to node-sqlite3 as NAMED
 * parameters, which the driver binds by a linear name search (quadratic in
 * the parameter count), and each of its transactions opens and closes a
 * connection of its own. The ledger's writes are batches of thousands of
 * rows, so on SQLite they run here instead, with `$N` rewritten to SQLite's
 * numbered `?N` and the values bound by position: on the store's
 * `node:sqlite` connection (`sqlite-sync.ts`), or on Sequelize's default
 * connection for a store in memory.
 */

/** The part of node-sqlite3's `Database` used here (which `SyncSqlite` also offers). */
export interface SqliteDb {
  exec(sql: string, cb: (err: Error | null) => void): void;
  all(sql: string, params: unknown[], cb: (err: Error | null, rows: unknown[]) => void): void;
  run(sql: string, params: unknown[], cb: (err: Error | null) => void): void;
}

/** How many statements' rewritten text {@link positional} keeps. */
const REWRITTEN_KEPT = 64;
/** Statement text -> its rewritten text, the most recently used last. */
const rewritten = new Map<string, string>();

/**
 * `$N` (not inside a quoted string or a JSON path such as `'$.key'`) as
 * `?N`. The ledger sends the same few statements batch after batch, some
 * of them long (a VALUES list of thousands of `$N`), so the rewritten text
 * of the statements used last is kept.
 */
export function positional(sql: string): string {
  let out = rewritten.get(sql);
  if (out !== undefined) {
    rewritten.delete(sql);
  } else {
    out = sql.replace(/'(?:[^']|'')*'|\$(\d+)/g, (m: string, n: string | undefined) => (n === undefined ? m : `?${n}`));
    if (rewritten.size >= REWRITTEN_KEPT) rewritten.delete(rewritten.keys().next().value!);
  }
  rewritten.set(sql, out);
  return out;
}

/** A value as node-sqlite3 should bind it: Dates as ISO text (the driver would bind milliseconds), booleans as 1/0. */
function bindable(v: unknown): unknown {
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'bigint') return v.toString();
  return v ?? null;
}

/** Rows of a statement, parameters by position. */
export function sqliteAll<T>(db: SqliteDb, sql: string, params: readonly unknown[]): Promise<T[]> {
  return new Promise((ok, fail) => db.all(positional(sql), params.map(bindable), (e, rows) => (e ? fail(e) : ok(rows as T[]))));
}

/** Runs a statement for its effect, parameters by position. */
export function sqliteRun(db: SqliteDb, sql: string, params: readonly unknown[]): Promise<void> {
  return new Promise((ok, fail) => db.run(positional(sql), params.map(bindable), (e) => (e ? fail(e) : ok())));
}

/** Runs one or more statements without parameters (PRAGMAs, BEGIN/COMMIT). */
export function sqliteExec(db: SqliteDb, sql: string): Promise<void> {
  return new Promise((ok, fail) => db.exec(sql, (e) => (e ? fail(e) : ok())));
}
