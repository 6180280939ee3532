/**
 * The staging database as the staging-table source sees it: one Sequelize
 * instance (PostgreSQL, MariaDB or SQLite), identifier quoting, statements
 * with `$n` parameters, transactions that hold one connection, the table's
 * real column names, and errors with the URL's password taken out.
 */
import { resolve } from 'node:path';
import { QueryTypes, Sequelize, Transaction } from 'sequelize';
import { redactUrl, redactUrlIn } from '../../lib/redact.js';
import { ConnectorErrors, ConnectorFailure } from '../connector.errors.js';

/** The database kinds the source reads. */
export type StagingDialect = 'postgres' | 'mariadb' | 'sqlite';

/** A transaction that holds one connection until it ends. */
export interface StagingTx {
  readonly handle: Transaction | undefined;
}

/** Row as the driver returns it, by column name. */
export type Row = Record<string, unknown>;

const TRANSIENT = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EAI_AGAIN|timeout|Connection terminated|too many connections|SQLITE_BUSY|database is locked|deadlock|could not serialize|Lock wait timeout/i;

/** The staging database behind one source instance. Calls on one instance must not overlap. */
export class StagingDb {
  readonly dialect: StagingDialect;
  /** Where the database is, without its password, for messages. */
  readonly where: string;
  private readonly url: string;
  private readonly baseDir: string;
  private sequelize: Sequelize | undefined;
  private sqliteTx = false;
  private ready = false;

  /** Reads the URL's kind; connects on first use. Throws a plain `Error` (a configuration problem) for an unknown kind. */
  constructor(url: string, baseDir: string) {
    this.url = url;
    this.baseDir = baseDir;
    this.where = redactUrl(url);
    const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(url)?.[1]?.toLowerCase();
    if (scheme === 'postgres' || scheme === 'postgresql') this.dialect = 'postgres';
    else if (scheme === 'mariadb') this.dialect = 'mariadb';
    else if (scheme === 'sqlite') this.dialect = 'sqlite';
    else throw new Error(`url must start with postgres://, mariadb:// or sqlite: (got "${scheme ?? this.where}")`);
  }

  /** The SQLite file `sqlite:` names, resolved against the pipeline's folder. */
  get sqliteFile(): string {
    const rest = this.url.replace(/^sqlite:(\/\/)?/i, '');
    return rest === ':memory:' ? rest : resolve(this.baseDir, rest);
  }

  private open(): Sequelize {
    if (this.sequelize) return this.sequelize;
    const common = { logging: false as const, benchmark: false };
    if (this.dialect === 'sqlite') this.sequelize = new Sequelize({ ...common, dialect: 'sqlite', storage: this.sqliteFile, retry: { max: 0 } });
    else {
      const url = this.dialect === 'postgres' ? this.url.replace(/^postgresql:/i, 'postgres:') : this.url;
      this.sequelize = new Sequelize(url, { ...common, dialect: this.dialect, pool: { max: 2, min: 0, idle: 5000, acquire: 20000 }, retry: { max: 0 } });
    }
    return this.sequelize;
  }

  /** Opens the connection and sets SQLite's busy timeout. Throws {@link ConnectorFailure} when the database cannot be reached. */
  async connect(): Promise<void> {
    if (this.ready) return;
    const s = this.open();
    try {
      await s.authenticate();
      if (this.dialect === 'sqlite') await s.query('PRAGMA busy_timeout = 10000');
      this.ready = true;
    } catch (e) {
      this.sequelize = undefined;
      await s.close().catch(() => undefined);
      throw this.failure(e, 'cannot connect to the staging database');
    }
  }

  /** `name` quoted as an identifier; `schema.table` is quoted part by part. */
  id(name: string): string {
    const q = this.dialect === 'mariadb' ? '`' : '"';
    return name
      .split('.')
      .map((p) => q + p.split(q).join(q + q) + q)
      .join('.');
  }

  /** Rows of a statement with `$1..$n` parameters. Throws {@link ConnectorFailure}. */
  async select(sql: string, bind: unknown[] = [], tx?: StagingTx): Promise<Row[]> {
    try {
      return await this.open().query(sql, { bind, type: QueryTypes.SELECT, ...(tx?.handle && { transaction: tx.handle }) });
    } catch (e) {
      throw this.failure(e, 'a query on the staging table failed');
    }
  }

  /** Runs a statement and resolves to the rows it changed. Throws {@link ConnectorFailure}. */
  async execute(sql: string, bind: unknown[] = [], tx?: StagingTx): Promise<number> {
    try {
      const out = (await this.open().query(sql, { bind, type: QueryTypes.UPDATE, ...(tx?.handle && { transaction: tx.handle }) })) as unknown;
      const n = Array.isArray(out) ? out[1] : undefined;
      return typeof n === 'number' ? n : 0;
    } catch (e) {
      throw this.failure(e, 'a statement on the staging table failed');
    }
  }

  /** Runs a statement whose result does not matter (DDL). Throws {@link ConnectorFailure}. */
  async run(sql: string, bind: unknown[] = [], tx?: StagingTx): Promise<void> {
    try {
      await this.open().query(sql, { bind, type: QueryTypes.RAW, ...(tx?.handle && { transaction: tx.handle }) });
    } catch (e) {
      throw this.failure(e, 'a statement on the staging database failed');
    }
  }

  /**
   * Starts a transaction holding one connection: READ COMMITTED on
   * PostgreSQL and MariaDB, `BEGIN IMMEDIATE` (the database's write lock) on
   * SQLite. End it with {@link commit} or {@link rollback}.
   */
  async begin(): Promise<StagingTx> {
    const s = this.open();
    if (this.dialect === 'sqlite') {
      if (this.sqliteTx) throw new Error('a SQLite transaction is already open on this source');
      await this.run('BEGIN IMMEDIATE');
      this.sqliteTx = true;
      return { handle: undefined };
    }
    try {
      return { handle: await s.transaction({ isolationLevel: Transaction.ISOLATION_LEVELS.READ_COMMITTED }) };
    } catch (e) {
      throw this.failure(e, 'cannot start a transaction on the staging database');
    }
  }

  /** Commits `tx`. Throws {@link ConnectorFailure}. */
  async commit(tx: StagingTx): Promise<void> {
    if (this.dialect === 'sqlite') {
      await this.run('COMMIT');
      this.sqliteTx = false;
      return;
    }
    try {
      await tx.handle?.commit();
    } catch (e) {
      throw this.failure(e, 'cannot commit on the staging database');
    }
  }

  /** Rolls `tx` back; never throws (a lost connection has rolled it back already). */
  async rollback(tx: StagingTx): Promise<void> {
    if (this.dialect === 'sqlite') {
      if (!this.sqliteTx) return;
      this.sqliteTx = false;
      await this.run('ROLLBACK').catch(() => undefined);
      return;
    }
    await tx.handle?.rollback().catch(() => undefined);
  }

  /** Runs `fn` in a transaction: committed when it resolves, rolled back when it throws. */
  async inTx<T>(fn: (tx: StagingTx) => Promise<T>): Promise<T> {
    const tx = await this.begin();
    try {
      const out = await fn(tx);
      await this.commit(tx);
      return out;
    } catch (e) {
      await this.rollback(tx);
      throw e;
    }
  }

  /**
   * The table's columns by their real names, looked up case-insensitively
   * (PostgreSQL folds unquoted names to lower case), and the table's own
   * name as found. Throws {@link ConnectorFailure} `SQL_SCHEMA` (fatal) when
   * the table is missing.
   */
  async describe(table: string): Promise<{ table: string; columns: string[] }> {
    const qi = this.open().getQueryInterface();
    const [schema, name] = table.includes('.') ? (table.split('.') as [string, string]) : [undefined, table];
    const names = this.dialect === 'postgres' && name !== name.toLowerCase() ? [name, name.toLowerCase()] : [name];
    let last: unknown;
    for (const n of names) {
      try {
        const desc = await qi.describeTable(schema === undefined ? n : { tableName: n, schema });
        if (Object.keys(desc).length === 0) continue;
        return { table: schema === undefined ? n : `${schema}.${n}`, columns: Object.keys(desc) };
      } catch (e) {
        last = e;
      }
    }
    if (last !== undefined && TRANSIENT.test(String((last as Error).message))) throw this.failure(last, `cannot read the columns of ${table}`);
    throw new ConnectorFailure(ConnectorErrors.SQL_SCHEMA, `staging table ${table} does not exist in ${this.where}`);
  }

  /** A {@link ConnectorFailure} for a driver error, its message free of the URL's password. */
  failure(e: unknown, what: string): ConnectorFailure {
    if (e instanceof ConnectorFailure) return e;
    const err = e as { message?: string; parent?: { code?: string }; original?: { code?: string } };
    const reason = redactUrlIn(String(err.message ?? e), this.url);
    const code = err.parent?.code ?? err.original?.code;
    const transient = TRANSIENT.test(reason) || (code !== undefined && TRANSIENT.test(code));
    const msg = `${what} (${this.where}): ${reason}`;
    return transient
      ? new ConnectorFailure(ConnectorErrors.SQL_UNAVAILABLE, msg)
      : new ConnectorFailure(ConnectorErrors.SQL_SCHEMA, msg);
  }

  /** Closes every connection; the next call connects again. */
  async close(): Promise<void> {
    const s = this.sequelize;
    this.sequelize = undefined;
    this.sqliteTx = false;
    this.ready = false;
    await s?.close();
  }
}
