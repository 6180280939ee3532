/**
 * The SQLite state store's connection to its file: Node's own `node:sqlite`,
 * whose statements run on the calling thread, to the end, without a hop.
 *
 * Through node-sqlite3 (which Sequelize's sqlite dialect uses) every
 * statement went to a pool thread and came back through the event loop,
 * so a transaction of a dozen statements waited a dozen times for the main
 * thread to be free, and the driver prepared each statement anew; the
 * routes benchmark spent more time in those waits than in SQLite (see
 * BENCHMARKS.md, "The state store on node:sqlite"). Here a prepared
 * statement is kept by its text and run at once.
 *
 * One process must reach one database file through one copy of the SQLite
 * library only: two copies do not share their POSIX lock bookkeeping, so
 * closing a connection of one drops the locks the other holds (sqlite.org,
 * "How To Corrupt An SQLite Database File", 2.2.1). The state store
 * therefore opens a Sequelize (node-sqlite3) connection to its file only
 * to change the schema, with this connection closed (`state-store.ts`).
 */
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { SqliteDb } from './sqlite-exec.js';

/** SQLite's primary result codes by number, for messages worded as node-sqlite3 words them (`SQLITE_BUSY: database is locked`). */
const CODES = [
  'OK', 'ERROR', 'INTERNAL', 'PERM', 'ABORT', 'BUSY', 'LOCKED', 'NOMEM', 'READONLY', 'INTERRUPT', 'IOERR', 'CORRUPT', 'NOTFOUND', 'FULL',
  'CANTOPEN', 'PROTOCOL', 'EMPTY', 'SCHEMA', 'TOOBIG', 'CONSTRAINT', 'MISMATCH', 'MISUSE', 'NOLFS', 'AUTH', 'FORMAT', 'RANGE', 'NOTADB',
] as const;

/** A `node:sqlite` error as node-sqlite3 gives one: `code` `SQLITE_<NAME>` and the message prefixed with it; other errors as they are. */
export function sqliteError(e: unknown): Error {
  const err = e as Error & { errcode?: unknown; code?: unknown };
  if (typeof err?.errcode !== 'number') return err instanceof Error ? err : new Error(String(e));
  const code = `SQLITE_${CODES[err.errcode & 0xff] ?? 'ERROR'}`;
  const out = new Error(`${code}: ${err.message}`) as Error & { code: string; errno: number };
  out.code = code;
  out.errno = err.errcode;
  return out;
}

/** How many prepared statements a connection keeps (the ledger's few, some of them batch-sized). */
const STATEMENTS_KEPT = 64;

/**
 * `?N` placeholders as plain `?` when they run 1, 2, 3, ... in order, each
 * once (the ledger's batch statements): `node:sqlite` binds positional
 * arguments to numbered placeholders by a search per argument, quadratic
 * in their count (a VALUES list of 10,000 took 170 ms to bind, against
 * 0.5 ms as plain `?`). Any other order is left as it is.
 */
export function plainPlaceholders(sql: string): string {
  let next = 0;
  let inOrder = true;
  const plain = sql.replace(/'(?:[^']|'')*'|\?(\d+)/g, (m: string, n: string | undefined) => {
    if (n === undefined) return m;
    if (Number(n) !== ++next) inOrder = false;
    return '?';
  });
  return inOrder ? plain : sql;
}

/** A `node:sqlite` connection behind the callback interface `sqlite-exec.ts` runs statements through; each callback is called before the call returns. */
export class SyncSqlite implements SqliteDb {
  private readonly statements = new Map<string, StatementSync>();

  private constructor(private readonly db: DatabaseSync) {}

  /** Opens `file` (created if absent) with `pragmas` run first; throws as node-sqlite3 would word it. */
  static open(file: string, busyTimeoutMs: number, pragmas: string): SyncSqlite {
    try {
      // Double-quoted string literals allowed, as in the node-sqlite3 build the schema was written against.
      const db = new DatabaseSync(file, { timeout: busyTimeoutMs, enableForeignKeyConstraints: true, enableDoubleQuotedStringLiterals: true });
      try {
        db.exec(pragmas);
      } catch (e) {
        db.close();
        throw e;
      }
      return new SyncSqlite(db);
    } catch (e) {
      throw sqliteError(e);
    }
  }

  private statement(sql: string): StatementSync {
    let s = this.statements.get(sql);
    if (s) {
      this.statements.delete(sql);
    } else {
      s = this.db.prepare(plainPlaceholders(sql));
      if (this.statements.size >= STATEMENTS_KEPT) this.statements.delete(this.statements.keys().next().value!);
    }
    this.statements.set(sql, s);
    return s;
  }

  exec(sql: string, cb: (err: Error | null) => void): void {
    try {
      this.db.exec(sql);
    } catch (e) {
      return cb(sqliteError(e));
    }
    cb(null);
  }

  all(sql: string, params: unknown[], cb: (err: Error | null, rows: unknown[]) => void): void {
    let rows: unknown[];
    try {
      rows = this.statement(sql).all(...(params as never[]));
    } catch (e) {
      return cb(sqliteError(e), []);
    }
    cb(null, rows);
  }

  run(sql: string, params: unknown[], cb: (err: Error | null) => void): void {
    try {
      this.statement(sql).run(...(params as never[]));
    } catch (e) {
      return cb(sqliteError(e));
    }
    cb(null);
  }

  /** Closes the connection; statements after it fail. */
  close(): void {
    this.statements.clear();
    if (this.db.isOpen) this.db.close();
  }
}
