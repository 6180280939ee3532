/**
 * The writer's transaction on node-sqlite3's own connection.
 *
 * Sequelize opens the database, but its sqlite dialect hands `$1..$N` to the
 * driver as NAMED parameters, which the driver binds by a linear name search
 * (quadratic in the parameter count), and adds its own work to every query.
 * A batch's statements therefore run here, on the connection Sequelize holds
 * for plain queries, with values bound by position. Statements with
 * parameters stay prepared between batches (a run is then one trip to the
 * driver's thread instead of two), unless their text is long (a VALUES list
 * of many rows); those without parameters run through `exec`.
 */
import type { SqlTx } from './sql.dialect.js';

/** node-sqlite3's `Statement`, as far as used here. */
interface DriverStatement {
  run(params: unknown[], cb: (err: Error | null) => void): unknown;
  all(params: unknown[], cb: (err: Error | null, rows: unknown[]) => void): unknown;
  finalize(cb: (err: Error | null) => void): unknown;
}

/** node-sqlite3's `Database`, as far as used here. */
export interface SqliteDriverDb {
  exec(sql: string, cb: (err: Error | null) => void): unknown;
  prepare(sql: string, cb: (err: Error | null) => void): DriverStatement;
}

/** How many prepared statements stay open, and the longest SQL text kept prepared. */
const KEPT = 16;
const KEPT_LENGTH = 4096;

/** One connection's statements; calls must not overlap (the target runs one batch at a time). */
export class SqliteConnection implements SqlTx {
  private readonly db: SqliteDriverDb;
  private readonly prepared = new Map<string, DriverStatement>();

  constructor(db: SqliteDriverDb) {
    this.db = db;
  }

  /** Rows of a statement, `?N` parameters bound by position. Rejects with the driver's error. */
  async select(sql: string, params: readonly unknown[] = []): Promise<Record<string, unknown>[]> {
    const stmt = await this.statement(sql);
    try {
      return await new Promise((ok, ko) => stmt.all([...params], (e, rows) => (e ? ko(e) : ok(rows as Record<string, unknown>[]))));
    } finally {
      if (sql.length > KEPT_LENGTH) await finalize(stmt);
    }
  }

  /** Runs a statement, or (without parameters) one or more statements. Rejects with the driver's error. */
  async execute(sql: string, params: readonly unknown[] = []): Promise<void> {
    if (params.length === 0) return new Promise((ok, ko) => this.db.exec(sql, (e) => (e ? ko(e) : ok())));
    const stmt = await this.statement(sql);
    try {
      await new Promise<void>((ok, ko) => stmt.run([...params], (e) => (e ? ko(e) : ok())));
    } finally {
      if (sql.length > KEPT_LENGTH) await finalize(stmt);
    }
  }

  /** Finalizes the prepared statements; the database can then be closed. */
  async close(): Promise<void> {
    const all = [...this.prepared.values()];
    this.prepared.clear();
    await Promise.all(all.map(finalize));
  }

  private async statement(sql: string): Promise<DriverStatement> {
    const kept = this.prepared.get(sql);
    if (kept) {
      this.prepared.delete(sql);
      this.prepared.set(sql, kept);
      return kept;
    }
    const stmt = await new Promise<DriverStatement>((ok, ko) => {
      const s = this.db.prepare(sql, (e) => (e ? ko(e) : ok(s)));
    });
    if (sql.length > KEPT_LENGTH) return stmt;
    this.prepared.set(sql, stmt);
    for (const [old, s] of this.prepared) {
      if (this.prepared.size <= KEPT) break;
      this.prepared.delete(old);
      void finalize(s);
    }
    return stmt;
  }
}

function finalize(stmt: DriverStatement): Promise<void> {
  return new Promise((ok) => stmt.finalize(() => ok()));
}
