/**
 * The writer's transaction on a Sequelize transaction (PostgreSQL, MariaDB,
 * SQL Server): statements carry `$N` parameters, which Sequelize binds as
 * the driver's own (pg `$N`, mariadb `?`, tedious `@N`); values are never
 * spliced into SQL text.
 */
import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import type { SqlTx } from './sql.dialect.js';

/** One open transaction; calls must not overlap (a connection runs one statement at a time). */
export class SequelizeTx implements SqlTx {
  private readonly db: Sequelize;
  private readonly transaction: Transaction;

  constructor(db: Sequelize, transaction: Transaction) {
    this.db = db;
    this.transaction = transaction;
  }

  /** Rows of a statement. Rejects with Sequelize's error (the driver's in `parent`). */
  select(sql: string, params: readonly unknown[] = []): Promise<Record<string, unknown>[]> {
    return this.db.query<Record<string, unknown>>(sql, { type: QueryTypes.SELECT, raw: true, transaction: this.transaction, ...(params.length ? { bind: [...params] } : {}) });
  }

  /** Runs one statement. Rejects with Sequelize's error. */
  async execute(sql: string, params: readonly unknown[] = []): Promise<void> {
    await this.db.query(sql, { type: QueryTypes.RAW, raw: true, transaction: this.transaction, ...(params.length ? { bind: [...params] } : {}) });
  }
}
