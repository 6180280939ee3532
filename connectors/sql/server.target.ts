/**
 * The `sql` target on a database server (PostgreSQL, MariaDB/MySQL, SQL
 * Server) through Sequelize and its connection pool: each batch in one
 * transaction on a pooled connection, written by the dialect-neutral
 * writer (sql.writer.ts). At connect it reads the table's live definition
 * and checks the target's config and the mapping's fields against it.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Options, Sequelize } from 'sequelize';
import { redactUrlIn } from '../../lib/redact.js';
import type { ConnectorEnv, Ctx, MappedRecord, Outcome, Target, TargetIdentity } from '../connector.types.js';
import { serverSystem } from '../target-identity.js';
import type { ErrorDef } from '../../lib/errors.js';
import { ConnectorErrors, ConnectorFailure } from '../connector.errors.js';
import { sqlBatchFailure, sqlWriteFailure } from './sql.refusal.js';
import { SQL_TABLE_DEFAULTS, type SqlChildSpec, type SqlProcedureConfig, type SqlTableSpec } from './sql.config.js';
import type { SqlDialect, SqlTx } from './sql.dialect.js';
import { mariadbDialect } from './mariadb.dialect.js';
import { mssqlDialect } from './mssql.dialect.js';
import { postgresDialect } from './postgres.dialect.js';
import { readTable, type TableInfo } from './sql.schema.js';
import { checkTarget, SqlSchemaFailure, type CheckedMapping, type SchemaProblem } from './sql.mapping-check.js';
import type { ServerUrl } from './sql.url.js';
import { SequelizeTx } from './sequelize.connection.js';
import { PostgresTx } from './postgres.copy.js';
import { MssqlBulkTx, MssqlTx, openMssqlPool } from './mssql.native.js';
import { writeBatch } from './sql.writer.js';
import { callProcedure } from './sql.procedure.js';
import { readBack, readBackOn, type ReadQuery } from './sql.readback.js';
import { SQL_TARGET_DEFAULTS, type SqlTargetConfig } from './sql.target.config.js';

const DIALECTS: Readonly<Record<ServerUrl['dialect'], SqlDialect>> = { postgres: postgresDialect, mariadb: mariadbDialect, mssql: mssqlDialect };

/** Sequelize's options for `url`: pool size, statement timeout, never logging. */
export function sequelizeOptions(url: ServerUrl, config: Pick<SqlTargetConfig, 'poolSize' | 'statementTimeoutMs' | 'sqlMode'>, multipleStatements = false): Options {
  const timeout = config.statementTimeoutMs ?? SQL_TARGET_DEFAULTS.statementTimeoutMs;
  const o = url.options;
  const base: Options = {
    dialect: url.dialect,
    host: url.host,
    logging: false,
    pool: { max: config.poolSize ?? SQL_TARGET_DEFAULTS.poolSize, min: 0, acquire: 30_000, idle: 10_000 },
    ...(url.port !== undefined && { port: url.port }),
    ...(url.username !== undefined && { username: url.username }),
    ...(url.password !== undefined && { password: url.password }),
    ...(url.database !== undefined && { database: url.database }),
  };
  if (url.dialect === 'postgres') {
    base.dialectOptions = { statement_timeout: timeout, application_name: 'rekey', ...(o.ssl === 'true' || o.sslmode === 'require' ? { ssl: { rejectUnauthorized: o.sslmode !== 'require' } } : {}) };
  } else if (url.dialect === 'mariadb') {
    base.dialectOptions = { queryTimeout: timeout, multipleStatements, ...(o.ssl === 'true' ? { ssl: true } : {}), ...(config.sqlMode !== undefined && { sessionVariables: { sql_mode: config.sqlMode } }) };
  } else {
    base.dialectOptions = { options: { requestTimeout: timeout, encrypt: o.encrypt !== 'false', trustServerCertificate: o.trustServerCertificate === 'true' } };
  }
  return base;
}

/** Delivers to one table of one database server; see {@link SqlTargetConfig}. */
export class ServerSqlTarget implements Target {
  readonly dialect: SqlDialect;
  private readonly url: ServerUrl;
  private readonly rawUrl: string;
  private readonly config: SqlTargetConfig;
  private readonly env: ConnectorEnv;
  private db?: Sequelize;
  /** SQL Server: the `mssql` pool batches run on. */
  private native?: Awaited<ReturnType<typeof openMssqlPool>>;
  private spec?: SqlTableSpec;
  private warnings: SchemaProblem[] = [];

  /** Touches nothing: the pool opens at {@link connect}. */
  constructor(url: ServerUrl, rawUrl: string, config: SqlTargetConfig, env: ConnectorEnv) {
    this.url = url;
    this.rawUrl = rawUrl;
    this.config = config;
    this.env = env;
    this.dialect = DIALECTS[url.dialect];
  }

  /** The dialect, `host:port/database` (never the user or password) and the table, or the procedure in mode procedure. */
  identity(): TargetIdentity {
    const object = this.config.mode === 'procedure' && this.config.procedure ? this.config.procedure.name : this.config.table;
    return { kind: this.url.dialect, system: serverSystem(this.url), object };
  }

  private redact(text: string): string {
    return redactUrlIn(text, this.rawUrl);
  }

  private fail(def: ErrorDef, message: string): ConnectorFailure {
    return new ConnectorFailure(def, this.redact(message));
  }

  /**
   * Opens the pool, reads the table (running `setupSql` first when it is
   * missing) and checks it: it exists and is writable (a read-only view is
   * fatal), the key column exists and is UNIQUE, `matchOn` and `refColumn`
   * name columns, the child tables of `children:` exist with their parent
   * columns, and the mapping's fields fit the table's columns and each
   * group's fields its child table's (see {@link checkTarget}). Throws
   * {@link ConnectorFailure}: `SQL_SCHEMA` (fatal; a
   * {@link SqlSchemaFailure} listing every mapping mismatch), or
   * `SQL_UNAVAILABLE` (retry; fatal when the login is refused). Messages
   * never hold the password. What may not fit some records (see
   * {@link connectWarnings}) is logged as a warning, not thrown.
   */
  async connect(ctx: Ctx): Promise<void> {
    if (this.db) return;
    const { Sequelize: SequelizeClass, QueryTypes } = await import('sequelize');
    const db = new SequelizeClass(sequelizeOptions(this.url, this.config, Boolean(this.config.setupSql)));
    try {
      const query = (sql: string, params: unknown[]) => db.query<Record<string, unknown>>(sql, { type: QueryTypes.SELECT, raw: true, ...(params.length ? { bind: params } : {}) });
      let info = await readTable(this.url.dialect, query, this.config.table);
      if (!info && this.config.setupSql) {
        await db.query(await readFile(resolve(this.env.baseDir, this.config.setupSql), 'utf8'), { raw: true });
        info = await readTable(this.url.dialect, query, this.config.table);
      }
      const children = new Map<string, TableInfo | undefined>();
      for (const c of Object.values(this.config.children ?? {})) children.set(c.table, await readTable(this.url.dialect, query, c.table));
      this.spec = this.inspect(info, children);
      for (const w of this.warnings) ctx.log.warn({ field: w.field, column: w.column }, w.message);
      if (this.url.dialect === 'mssql') this.native = await openMssqlPool(this.url, this.config.poolSize ?? SQL_TARGET_DEFAULTS.poolSize, this.config.statementTimeoutMs ?? SQL_TARGET_DEFAULTS.statementTimeoutMs);
      this.db = db;
    } catch (e) {
      await db.close().catch(() => undefined);
      if (e instanceof ConnectorFailure) throw e;
      const info = this.dialect.classify(e);
      const where = `${this.url.dialect} database ${this.url.database ?? ''} at ${this.url.host}`;
      if (info.kind === 'fatal' && info.access) throw this.fail(ConnectorErrors.SQL_ACCESS_DENIED, `the ${where} refused rekey's user: ${info.message}`);
      if (info.kind === 'fatal') throw this.fail(ConnectorErrors.SQL_SCHEMA, `cannot use the ${where}: ${info.message}`);
      throw this.fail(ConnectorErrors.SQL_UNAVAILABLE, `cannot reach the ${where}: ${info.message}`);
    }
  }

  /** What the last `connect` found of the mapping's numbers that some records may not fit (see `sql.number-check.ts`); logged as warnings at connect. */
  connectWarnings(): readonly SchemaProblem[] {
    return this.warnings;
  }

  private inspect(info: TableInfo | undefined, childTables: ReadonlyMap<string, TableInfo | undefined>): SqlTableSpec {
    const { table, keyColumn, refColumn, matchOn } = this.config;
    const mode = this.config.mode ?? SQL_TABLE_DEFAULTS.mode;
    if (!info) throw this.fail(ConnectorErrors.SQL_SCHEMA, `table ${table} does not exist${this.config.setupSql ? ' (setupSql did not create it)' : ''}`);
    if (!info.writable) throw this.fail(ConnectorErrors.SQL_SCHEMA, `${info.name} is a read-only view: rekey cannot ${mode === 'update' ? 'update' : 'insert into'} it; name its base table`);
    const byName = new Map(info.columns.map((c) => [c.name.toUpperCase(), c]));
    const columnOf = (name: string, what: string) => {
      const c = byName.get(name.toUpperCase());
      if (!c) throw this.fail(ConnectorErrors.SQL_SCHEMA, `table ${info.name} has no ${what} ${name}`);
      return c.name;
    };
    const key = columnOf(keyColumn, 'key column');
    if (!info.unique.has(key.toUpperCase())) {
      throw this.fail(ConnectorErrors.SQL_SCHEMA, `${info.name}.${key} must have a UNIQUE constraint or index: without one a submission could be keyed twice`);
    }
    let match: SqlTableSpec['matchOn'];
    if (matchOn !== undefined) {
      const column = columnOf(this.config.columns?.[matchOn] ?? matchOn, `column for matchOn field ${matchOn}:`);
      if (!info.unique.has(column.toUpperCase())) throw this.fail(ConnectorErrors.SQL_SCHEMA, `${info.name}.${column} (matchOn ${matchOn}) must be UNIQUE: it has to find one row`);
      match = { field: matchOn, column };
    }
    const ref = refColumn !== undefined ? columnOf(refColumn, 'reference column') : info.primaryKey.length === 1 ? (info.primaryKey[0] as string) : key;
    const children = this.childSpecs(info.name, mode, childTables);
    const mapping: CheckedMapping | undefined = this.env.mapping;
    const procedure = this.procedureOf(mode, mapping?.fields);
    const spec: SqlTableSpec = {
      table: info.name,
      keyColumn: key,
      refExpr: this.dialect.quote(ref),
      columns: this.config.columns ?? {},
      known: new Set(byName.keys()),
      batchSize: this.config.batchSize ?? SQL_TABLE_DEFAULTS.batchSize,
      mode,
      info: byName,
      ref: { column: ref, generated: byName.get(ref.toUpperCase())?.generated ?? false },
      ...(match && { matchOn: match }),
      ...(children && { children }),
      ...(procedure && { procedure }),
    };
    const warnings: SchemaProblem[] = [];
    const problems = mapping && !procedure ? checkTarget(mapping, spec, warnings) : [];
    this.warnings = warnings;
    if (problems.length) throw new SqlSchemaFailure(info.name, problems);
    return spec;
  }

  private procedureOf(mode: string, fields: readonly { name: string }[] | undefined): SqlProcedureConfig | undefined {
    const proc = this.config.procedure;
    if (mode !== 'procedure') {
      if (proc) throw this.fail(ConnectorErrors.SQL_SCHEMA, `procedure: is used in mode procedure only (the mode is ${mode})`);
      return undefined;
    }
    if (!proc) throw this.fail(ConnectorErrors.SQL_SCHEMA, 'mode procedure needs procedure: (name and params)');
    if (proc.params.filter((p) => p.out).length > 1) throw this.fail(ConnectorErrors.SQL_SCHEMA, `procedure ${proc.name}: at most one parameter is out (the legacy reference)`);
    if (proc.kind === 'function' && proc.params.some((p) => p.out)) throw this.fail(ConnectorErrors.SQL_SCHEMA, `procedure ${proc.name}: a function returns the reference as its result; no parameter is out`);
    const known = fields && new Set(fields.map((f) => f.name));
    for (const p of proc.params) {
      const from = p.from ?? p.name;
      if (!p.out && known && from !== '$key' && !known.has(from)) throw this.fail(ConnectorErrors.SQL_SCHEMA, `procedure ${proc.name} parameter ${p.name}: the mapping has no field ${from}`);
    }
    return proc;
  }

  private childSpecs(parent: string, mode: string, tables: ReadonlyMap<string, TableInfo | undefined>): Record<string, SqlChildSpec> | undefined {
    const config = this.config.children;
    if (!config) return undefined;
    if (mode !== 'insert') throw this.fail(ConnectorErrors.SQL_SCHEMA, `children: writes child rows with their parent in insert mode only, not ${mode}`);
    const out: Record<string, SqlChildSpec> = {};
    for (const [group, c] of Object.entries(config)) {
      const info = tables.get(c.table);
      if (!info) throw this.fail(ConnectorErrors.SQL_SCHEMA, `table ${c.table} (children.${group}) does not exist`);
      if (!info.writable) throw this.fail(ConnectorErrors.SQL_SCHEMA, `${info.name} (children.${group}) is a read-only view: name its base table`);
      const byName = new Map(info.columns.map((col) => [col.name.toUpperCase(), col]));
      const parentColumn = byName.get(c.parentColumn.toUpperCase());
      if (!parentColumn) throw this.fail(ConnectorErrors.SQL_SCHEMA, `table ${info.name} has no column ${c.parentColumn} (children.${group}.parentColumn) to take the identity of ${parent}`);
      const pk = info.primaryKey.length === 1 ? byName.get((info.primaryKey[0] as string).toUpperCase()) : undefined;
      const order = pk?.generated && pk.family === 'number' ? pk.name : undefined;
      out[group] = { table: info.name, parentColumn: parentColumn.name, columns: c.columns ?? {}, known: new Set(byName.keys()), info: byName, ...(order && { order }) };
    }
    return out;
  }

  /**
   * Writes the batch in one transaction and reports one outcome per record,
   * in order (see `writeBatch`). When the database is busy (deadlock,
   * serialization failure, lock timeout) or fails for a reason that may
   * pass (connection lost, statement timeout), nothing is kept and every
   * record is `failed` (`SQL_BUSY` / `SQL_UNAVAILABLE`, retry). Throws
   * {@link ConnectorFailure} `SQL_SCHEMA` when no record could be written
   * (a column or the table is gone, permission denied).
   */
  async deliver(batch: MappedRecord[], ctx: Ctx): Promise<Outcome[]> {
    const { db, spec } = this;
    if (!db || !spec) throw this.fail(ConnectorErrors.SQL_SCHEMA, 'the sql target is not connected: call connect() first');
    try {
      const { tx, commit, rollback } = await this.begin(db, spec);
      try {
        const outcomes = spec.procedure ? await callProcedure(tx, this.dialect, spec, spec.procedure, batch) : await writeBatch(tx, this.dialect, spec, batch);
        await commit();
        return await this.confirm(batch, outcomes, ctx);
      } catch (e) {
        await rollback().catch(() => undefined);
        throw e;
      }
    } catch (e) {
      if (e instanceof ConnectorFailure) throw e;
      const info = this.dialect.classify(e);
      if (info.kind === 'fatal' || info.kind === 'constraint') throw this.fail(ConnectorErrors.SQL_SCHEMA, `cannot write to ${spec.table}: ${sqlWriteFailure(info)}`);
      const def = info.kind === 'busy' ? ConnectorErrors.SQL_BUSY : ConnectorErrors.SQL_UNAVAILABLE;
      const error = sqlBatchFailure(def, info);
      return batch.map((r) => ({ key: r.key, status: 'failed' as const, error }));
    }
  }

  /** A batch's transaction: on SQL Server through `mssql` (typed procedure calls, bulk insert), else through Sequelize (PostgreSQL with COPY). */
  private async begin(db: Sequelize, spec: SqlTableSpec): Promise<{ tx: SqlTx; commit: () => Promise<void>; rollback: () => Promise<void> }> {
    const bulk = this.config.bulkLoad ?? SQL_TARGET_DEFAULTS.bulkLoad;
    if (this.native) {
      const { sql, pool } = this.native;
      const t = new sql.Transaction(pool);
      await t.begin();
      const live = spec.info ?? new Map();
      return { tx: bulk ? new MssqlBulkTx(sql, t, live) : new MssqlTx(sql, t, live), commit: () => t.commit(), rollback: () => t.rollback() };
    }
    const transaction = await db.transaction();
    const tx = this.url.dialect === 'postgres' && bulk ? new PostgresTx(db, transaction) : new SequelizeTx(db, transaction);
    return { tx, commit: () => transaction.commit(), rollback: () => transaction.rollback() };
  }

  /** With read-back on (see {@link readBackOn}), reads the rows just committed and sets `confirmed` (and `mismatches`) on their outcomes (see {@link readBack}). */
  private async confirm(batch: MappedRecord[], outcomes: Outcome[], ctx: Ctx): Promise<Outcome[]> {
    const { db, spec } = this;
    if (!db || !spec || !readBackOn(this.config.readBack, this.config.mode)) return outcomes;
    const { QueryTypes } = await import('sequelize');
    const read: ReadQuery = (sql, params) => db.query<Record<string, unknown>>(sql, { type: QueryTypes.SELECT, raw: true, ...(params.length ? { bind: [...params] } : {}) });
    return readBack(read, this.dialect, spec, batch, outcomes, ctx, (text) => this.redact(text));
  }

  /** The open pool, for tests and benchmarks that look at the table; throws before {@link connect}. */
  sequelize(): Sequelize {
    if (!this.db) throw this.fail(ConnectorErrors.SQL_SCHEMA, 'the sql target is not connected: call connect() first');
    return this.db;
  }

  /** Closes the pool; a later {@link connect} opens it again. */
  async close(): Promise<void> {
    const db = this.db;
    this.db = undefined;
    this.spec = undefined;
    const native = this.native;
    this.native = undefined;
    await native?.pool.close();
    await db?.close();
  }
}
