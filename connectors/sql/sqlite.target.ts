/**
 * Target `sqlite`: inserts mapped records into a table of a SQLite
 * database, idempotently by submission key (see sql.writer.ts). Sequelize
 * opens and inspects the database; each batch runs on the driver connection
 * Sequelize holds (see sqlite.connection.ts), in one transaction (`BEGIN
 * IMMEDIATE`), batches one at a time; the database runs in WAL mode with
 * `synchronous=FULL`, so a delivered record survives a power cut.
 */
import { access, readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Sequelize } from 'sequelize';
import type { ConnectorDef, ConnectorEnv, Ctx, MappedRecord, Outcome, Target, TargetIdentity } from '../connector.types.js';
import { displayPath } from '../target-identity.js';
import type { ErrorDef } from '../../lib/errors.js';
import { ConnectorErrors, ConnectorFailure } from '../connector.errors.js';
import { sqlBatchFailure, sqlWriteFailure } from './sql.refusal.js';
import { jsonSchema } from '../config.schema.js';
import { SQL_TABLE_DEFAULTS, type SqlChildSpec, type SqlTableSpec } from './sql.config.js';
import { SQLITE_TARGET_DEFAULTS, sqliteTargetConfigSchema, type SqliteTargetConfig } from './sqlite.target.config.js';
import { writeBatch } from './sql.writer.js';
import { checkTarget, SqlSchemaFailure, type CheckedMapping } from './sql.mapping-check.js';
import { readBack, readBackOn } from './sql.readback.js';
import { SqliteConnection, type SqliteDriverDb } from './sqlite.connection.js';
import { sqliteDialect } from './sqlite.dialect.js';
import { sqliteColumnRows, sqliteColumns, tableXinfoSql, type SqliteColumnRow } from './sqlite.schema.js';

export { sqliteTargetConfigSchema, type SqliteTargetConfig } from './sqlite.target.config.js';

/** Durability settings of the open connection. */
export interface SqliteSettings {
  journalMode: string;
  /** 2 is FULL. */
  synchronous: number;
  busyTimeoutMs: number;
}

const fail = (def: ErrorDef, message: string, cause?: unknown) => new ConnectorFailure(def, message, cause === undefined ? {} : { cause });

/** Delivers to one table of one SQLite database; see {@link SqliteTargetConfig}. */
export class SqliteTarget implements Target {
  /** The database file, resolved against the pipeline file's folder. */
  readonly path: string;
  private readonly config: SqliteTargetConfig;
  private readonly baseDir: string;
  private readonly mapping?: CheckedMapping;
  private db?: Sequelize;
  private spec?: SqlTableSpec;
  private conn?: SqliteConnection;
  private queue: Promise<unknown> = Promise.resolve();

  /** Touches nothing: the database is opened by {@link connect}. */
  constructor(config: SqliteTargetConfig, env: ConnectorEnv) {
    this.config = config;
    this.baseDir = env.baseDir;
    if (env.mapping) this.mapping = env.mapping;
    this.path = resolve(env.baseDir, config.path);
  }

  /** `sqlite`, the database file (relative to the working folder when inside it) and the table. */
  identity(): TargetIdentity {
    return { kind: 'sqlite', system: displayPath(this.path), object: this.config.table };
  }

  /**
   * Opens the database (creating the file only when `setupSql` is given),
   * sets WAL, `synchronous=FULL` and the busy timeout, runs `setupSql` when
   * the table is missing, and checks the table: it exists, the key column is
   * UNIQUE, the reference column exists, the child tables of `children:`
   * exist with their parent columns, and the mapping's fields fit the
   * table's columns and each group's fields its child table's (see
   * `checkTarget`). Throws {@link ConnectorFailure}: `SQL_SCHEMA` (fatal)
   * for a table that does not fit (a {@link SqlSchemaFailure} listing every
   * mapping mismatch), `SQL_UNAVAILABLE`
   * when the database cannot be opened (fatal when the file is missing,
   * retry otherwise).
   */
  async connect(_ctx: Ctx): Promise<void> {
    if (this.db) return;
    if (!this.config.setupSql) {
      await access(this.path).catch((e: unknown) => {
        throw new ConnectorFailure(ConnectorErrors.SQL_UNAVAILABLE, `database ${this.path} does not exist (${(e as NodeJS.ErrnoException).code}); setupSql would create it`, { disposition: 'fatal', cause: e });
      });
    }
    const [{ Sequelize: SequelizeClass }, sqlite3] = await Promise.all([import('sequelize'), import('sqlite3')]);
    const mode = sqlite3.default.OPEN_READWRITE | (this.config.setupSql ? sqlite3.default.OPEN_CREATE : 0);
    this.db = new SequelizeClass({ dialect: 'sqlite', storage: this.path, logging: false, dialectOptions: { mode } });
    try {
      await this.select('PRAGMA journal_mode=WAL');
      await this.select('PRAGMA synchronous=FULL');
      await this.select(`PRAGMA busy_timeout=${this.config.busyTimeoutMs ?? SQLITE_TARGET_DEFAULTS.busyTimeoutMs}`);
      let columns = await this.columns();
      if (columns.length === 0 && this.config.setupSql) {
        await this.runScript(await readFile(resolve(this.baseDir, this.config.setupSql), 'utf8'));
        columns = await this.columns();
      }
      this.spec = await this.inspect(columns);
      this.conn = new SqliteConnection(await this.driverDb());
    } catch (e) {
      if ((e as Error).name !== 'SequelizeConnectionError') await this.db.close().catch(() => undefined);
      this.db = undefined;
      this.spec = undefined;
      if (e instanceof ConnectorFailure) throw e;
      const info = sqliteDialect.classify(e);
      const def = (e as NodeJS.ErrnoException).code === 'ENOENT' || info.kind === 'fatal' ? ConnectorErrors.SQL_SCHEMA : ConnectorErrors.SQL_UNAVAILABLE;
      throw fail(def, `cannot use ${this.path}: ${info.message}`, e);
    }
  }

  private database(): Sequelize {
    if (!this.db) throw fail(ConnectorErrors.SQL_SCHEMA, 'the sqlite target is not connected: call connect() first');
    return this.db;
  }

  private async select(sql: string, bind?: unknown[]): Promise<Record<string, unknown>[]> {
    const { QueryTypes } = await import('sequelize');
    const opts = { type: QueryTypes.SELECT, raw: true } as const;
    return this.database().query<Record<string, unknown>>(sql, bind === undefined ? opts : { ...opts, bind });
  }

  private async columns(table = this.config.table): Promise<SqliteColumnRow[]> {
    return sqliteColumnRows(await this.select(tableXinfoSql(table)));
  }

  /** The driver connection Sequelize runs plain queries on (its `default` one). */
  private driverDb(): Promise<SqliteDriverDb> {
    const manager = this.database().connectionManager as unknown as { getConnection(o: object): Promise<SqliteDriverDb> };
    return manager.getConnection({});
  }

  /** Runs the setup script in one transaction, so a process killed halfway leaves no half-made table for the next start to trip on. */
  private async runScript(sql: string): Promise<void> {
    const db = await this.driverDb();
    const exec = (text: string) => new Promise<void>((ok, ko) => db.exec(text, (e) => (e ? ko(e) : ok())));
    await exec('BEGIN IMMEDIATE');
    try {
      await exec(sql);
      await exec('COMMIT');
    } catch (e) {
      await exec('ROLLBACK').catch(() => undefined);
      throw e;
    }
  }

  private async inspect(columns: SqliteColumnRow[]): Promise<SqlTableSpec> {
    const { table, keyColumn, refColumn } = this.config;
    const known = new Set(columns.map((c) => c.name.toUpperCase()));
    if (known.size === 0) throw fail(ConnectorErrors.SQL_SCHEMA, `table ${table} does not exist in ${this.path}${this.config.setupSql ? ' (setupSql did not create it)' : ''}`);
    if (!known.has(keyColumn.toUpperCase())) throw fail(ConnectorErrors.SQL_SCHEMA, `table ${table} has no key column ${keyColumn}`);
    if (!(await this.isUnique(keyColumn, columns))) {
      throw fail(ConnectorErrors.SQL_SCHEMA, `${table}.${keyColumn} must have a UNIQUE constraint or index: without one a submission could be keyed twice`);
    }
    if (refColumn !== undefined && !known.has(refColumn.toUpperCase())) throw fail(ConnectorErrors.SQL_SCHEMA, `table ${table} has no reference column ${refColumn}`);
    const refExpr = refColumn === undefined ? 'rowid' : sqliteDialect.quote(refColumn);
    if (refColumn === undefined) {
      await this.select(`SELECT rowid FROM ${sqliteDialect.quote(table)} LIMIT 0`).catch((e: unknown) => {
        throw fail(ConnectorErrors.SQL_SCHEMA, `table ${table} has no rowid (${sqliteDialect.classify(e).message}): set refColumn`, e);
      });
    }
    const { mode, matchOn } = this.config;
    if (mode === 'procedure') throw fail(ConnectorErrors.SQL_SCHEMA, 'mode procedure: SQLite has no stored procedures');
    const match = matchOn === undefined ? {} : { matchOn: { field: matchOn, column: this.config.columns?.[matchOn] ?? matchOn } };
    const children = await this.childSpecs(mode ?? SQL_TABLE_DEFAULTS.mode);
    const ref = { column: refColumn ?? 'rowid', generated: refColumn === undefined };
    const info = new Map(sqliteColumns(columns).map((c) => [c.name.toUpperCase(), c]));
    const spec: SqlTableSpec = { table, keyColumn, refExpr, columns: this.config.columns ?? {}, known, batchSize: this.config.batchSize ?? SQL_TABLE_DEFAULTS.batchSize, mode: mode ?? SQL_TABLE_DEFAULTS.mode, info, ref, ...match, ...(children && { children }) };
    const problems = this.mapping ? checkTarget(this.mapping, spec) : [];
    if (problems.length) throw new SqlSchemaFailure(table, problems);
    return spec;
  }

  private async childSpecs(mode: string): Promise<Record<string, SqlChildSpec> | undefined> {
    const config = this.config.children;
    if (!config) return undefined;
    if (mode !== 'insert') throw fail(ConnectorErrors.SQL_SCHEMA, `children: writes child rows with their parent in insert mode only, not ${mode}`);
    const out: Record<string, SqlChildSpec> = {};
    for (const [group, c] of Object.entries(config)) {
      const info = new Map(sqliteColumns(await this.columns(c.table)).map((col) => [col.name.toUpperCase(), col]));
      if (!info.size) throw fail(ConnectorErrors.SQL_SCHEMA, `table ${c.table} (children.${group}) does not exist in ${this.path}`);
      const parentColumn = info.get(c.parentColumn.toUpperCase())?.name;
      if (!parentColumn) throw fail(ConnectorErrors.SQL_SCHEMA, `table ${c.table} has no column ${c.parentColumn} (children.${group}.parentColumn) to take the identity of ${this.config.table}`);
      out[group] = { table: c.table, parentColumn, columns: c.columns ?? {}, known: new Set(info.keys()), info, ...(await this.rowOrder(c.table)) };
    }
    return out;
  }

  /** Where `table` has a rowid (not WITHOUT ROWID), `rowid`: it orders the rows as inserted (see {@link SqlChildSpec.order}). */
  private async rowOrder(table: string): Promise<{ order?: string }> {
    const hasRowid = await this.select(`SELECT rowid FROM ${sqliteDialect.quote(table)} LIMIT 0`).then(
      () => true,
      () => false,
    );
    return hasRowid ? { order: 'rowid' } : {};
  }

  private async isUnique(column: string, columns: SqliteColumnRow[]): Promise<boolean> {
    const same = (name: unknown) => String(name).toUpperCase() === column.toUpperCase();
    const pks = columns.filter((c) => c.pk > 0);
    if (pks.length === 1 && same(pks[0]?.name) && /^INTEGER$/i.test(pks[0]?.type ?? '')) return true;
    const q = sqliteDialect.quote;
    for (const idx of await this.select(`pragma index_list(${q(this.config.table)})`)) {
      if (Number(idx.unique) !== 1 || Number(idx.partial) === 1) continue;
      const cols = await this.select(`pragma index_info(${q(String(idx.name))})`);
      if (cols.length === 1 && same(cols[0]?.name)) return true;
    }
    return false;
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Writes the batch in one transaction and reports one outcome per record,
   * in order (see `writeBatch`); with read-back on (`readBack`, default for
   * upsert), the rows just committed are read again and their outcomes
   * marked `confirmed` or given `mismatches` (see `readBack`). When the
   * database is busy or fails for a reason that may pass, nothing is kept
   * and every record is `failed` (`SQL_BUSY` / `SQL_UNAVAILABLE`, retry).
   * Throws {@link ConnectorFailure} `SQL_SCHEMA` when the table does not
   * fit the records (no such column, read-only database): no record could
   * be written.
   */
  deliver(batch: MappedRecord[], ctx: Ctx): Promise<Outcome[]> {
    return this.exclusive(async () => {
      const { spec, conn } = this;
      if (!spec || !conn) throw fail(ConnectorErrors.SQL_SCHEMA, 'the sqlite target is not connected: call connect() first');
      let outcomes: Outcome[];
      try {
        await conn.execute('BEGIN IMMEDIATE');
        try {
          outcomes = await writeBatch(conn, sqliteDialect, spec, batch);
          await conn.execute('COMMIT');
        } catch (e) {
          await conn.execute('ROLLBACK').catch(() => undefined);
          throw e;
        }
      } catch (e) {
        if (e instanceof ConnectorFailure) throw e;
        const info = sqliteDialect.classify(e);
        if (info.kind === 'fatal' || info.kind === 'constraint') throw fail(ConnectorErrors.SQL_SCHEMA, `cannot write to ${spec.table}: ${sqlWriteFailure(info)}`, e);
        const def = info.kind === 'busy' ? ConnectorErrors.SQL_BUSY : ConnectorErrors.SQL_UNAVAILABLE;
        const error = sqlBatchFailure(def, info);
        return batch.map((r) => ({ key: r.key, status: 'failed' as const, error }));
      }
      if (!readBackOn(this.config.readBack, spec.mode)) return outcomes;
      return readBack((sql, params) => conn.select(sql, params), sqliteDialect, spec, batch, outcomes, ctx);
    });
  }

  /** The connection's journal mode, synchronous level and busy timeout. */
  async settings(): Promise<SqliteSettings> {
    return this.exclusive(async () => {
      const [j] = await this.select('PRAGMA journal_mode');
      const [s] = await this.select('PRAGMA synchronous');
      const [b] = await this.select('PRAGMA busy_timeout');
      return { journalMode: String(j?.journal_mode), synchronous: Number(s?.synchronous), busyTimeoutMs: Number(b?.timeout ?? Object.values(b ?? {})[0]) };
    });
  }

  /** Closes the database after the batch in progress; a later {@link connect} opens it again. */
  close(): Promise<void> {
    return this.exclusive(async () => {
      const { db, conn } = this;
      this.db = undefined;
      this.spec = undefined;
      this.conn = undefined;
      await conn?.close();
      await db?.close();
    });
  }
}

/** The `sqlite` target's declaration for the registry. */
export const sqliteTarget: ConnectorDef<SqliteTargetConfig, SqliteTarget> = {
  name: 'sqlite',
  kind: 'target',
  doc: 'Inserts each record as a row of a table in a SQLite database, once per submission key, reading back the rowid as the legacy reference.',
  configSchema: jsonSchema(sqliteTargetConfigSchema),
  create: (config, env) => new SqliteTarget(config, env),
};
