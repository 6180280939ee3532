/**
 * SQL Server through the `mssql` package's own pool, for what Sequelize
 * does not do: stored procedures called with typed parameters
 * (`request.input(name, type, value)`, `request.output`,
 * `request.execute`) and bulk inserts (`Table` + `request.bulk`). A batch
 * runs in one `mssql` transaction; the writer's `$N` statements are sent
 * with `@pN` parameters.
 */
import type { ColumnInfo, SqlProcedureConfig } from './sql.config.js';
import type { SqlTx } from './sql.dialect.js';
import type { ServerUrl } from './sql.url.js';
import { ConnectorErrors, ConnectorFailure } from '../connector.errors.js';

/** A SQL Server type as `mssql` builds it: the type's name in `mssql` and its arguments (length, precision, scale; -1 is MAX). */
export interface MssqlTypeSpec {
  name: string;
  args: number[];
}

const NAMES: Readonly<Record<string, string>> = {
  varchar: 'VarChar',
  nvarchar: 'NVarChar',
  char: 'Char',
  nchar: 'NChar',
  text: 'Text',
  ntext: 'NText',
  int: 'Int',
  integer: 'Int',
  bigint: 'BigInt',
  smallint: 'SmallInt',
  tinyint: 'TinyInt',
  bit: 'Bit',
  decimal: 'Decimal',
  numeric: 'Numeric',
  money: 'Money',
  float: 'Float',
  real: 'Real',
  date: 'Date',
  datetime: 'DateTime',
  datetime2: 'DateTime2',
  smalldatetime: 'SmallDateTime',
  time: 'Time',
  uniqueidentifier: 'UniqueIdentifier',
};

/**
 * The `mssql` type of a type name as a config or the catalogue writes it
 * (`varchar(35)`, `nvarchar(max)`, `decimal(7,2)`, `int`). Pure. Throws
 * {@link ConnectorFailure} `SQL_SCHEMA` for a type it does not know.
 */
export function mssqlTypeOf(type: string): MssqlTypeSpec {
  const m = /^\s*([A-Za-z][A-Za-z0-9_]*)\s*(?:\(\s*(\d+|max)\s*(?:,\s*(\d+)\s*)?\))?\s*$/i.exec(type);
  const name = m && NAMES[(m[1] as string).toLowerCase()];
  if (!m || !name) throw new ConnectorFailure(ConnectorErrors.SQL_SCHEMA, `SQL Server type ${type} is not one rekey can bind (use varchar(n), nvarchar(n), char(n), int, bigint, decimal(p,s), date, datetime2, bit...)`);
  const args = [m[2], m[3]].filter((a): a is string => a !== undefined).map((a) => (a.toLowerCase() === 'max' ? -1 : Number(a)));
  return { name, args };
}

/** The parts of the `mssql` module used here (it ships no types). */
export interface MssqlModule {
  ConnectionPool: new (config: Record<string, unknown>) => MssqlPool;
  Transaction: new (pool: MssqlPool) => MssqlTransaction;
  Request: new (parent: MssqlTransaction) => MssqlRequest;
  Table: new (name: string) => MssqlTable;
  MAX: number;
  [type: string]: unknown;
}
interface MssqlPool {
  connect(): Promise<MssqlPool>;
  close(): Promise<void>;
}
/** An `mssql` transaction. */
export interface MssqlTransaction {
  begin(): Promise<unknown>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
}
interface MssqlRequest {
  input(name: string, type: unknown, value?: unknown): MssqlRequest;
  input(name: string, value: unknown): MssqlRequest;
  output(name: string, type: unknown): MssqlRequest;
  query(sql: string): Promise<{ recordset?: Record<string, unknown>[] }>;
  execute(name: string): Promise<{ output: Record<string, unknown>; recordset?: Record<string, unknown>[]; returnValue?: unknown }>;
  bulk(table: MssqlTable, options: { checkConstraints: boolean; fireTriggers: boolean; keepNulls: boolean }): Promise<{ rowsAffected: number }>;
}
interface MssqlTable {
  create: boolean;
  columns: { add(name: string, type: unknown, options: { nullable: boolean }): void };
  rows: { add(...values: unknown[]): void };
}

/** The `mssql` type object of a {@link MssqlTypeSpec}. */
function typeObject(sql: MssqlModule, spec: MssqlTypeSpec): unknown {
  const t = sql[spec.name] as ((...a: number[]) => unknown) | undefined;
  if (typeof t !== 'function') throw new ConnectorFailure(ConnectorErrors.SQL_SCHEMA, `mssql has no type ${spec.name}`);
  return spec.args.length ? t(...spec.args.map((a) => (a === -1 ? sql.MAX : a))) : t;
}

/** Opens an `mssql` pool for `url`, as Sequelize's options would reach it. Rejects with the driver's error. */
export async function openMssqlPool(url: ServerUrl, poolSize: number, timeoutMs: number): Promise<{ sql: MssqlModule; pool: MssqlPool }> {
  const sql = ((await import(MSSQL_MODULE)) as { default: MssqlModule }).default;
  const pool = new sql.ConnectionPool({
    server: url.host,
    ...(url.port !== undefined && { port: url.port }),
    ...(url.username !== undefined && { user: url.username }),
    ...(url.password !== undefined && { password: url.password }),
    ...(url.database !== undefined && { database: url.database }),
    requestTimeout: timeoutMs,
    pool: { max: poolSize, min: 0 },
    options: { encrypt: url.options.encrypt !== 'false', trustServerCertificate: url.options.trustServerCertificate === 'true' },
  });
  await pool.connect();
  return { sql, pool };
}

/** Imported by name: the package ships no type declarations (the interfaces above say what is used). */
const MSSQL_MODULE: string = 'mssql';

/** `$N` placeholders as `@pN`. */
const named = (sql: string) => sql.replace(/\$(\d+)/g, '@p$1');

/** The writer's transaction on an `mssql` transaction: statements, bulk insert, typed procedure calls. Calls must not overlap. */
export class MssqlTx implements SqlTx {
  protected readonly driver: MssqlModule;
  protected readonly transaction: MssqlTransaction;
  protected readonly live: ReadonlyMap<string, ColumnInfo>;

  /** `columns`: the table's live columns by upper-cased name, which give the bulk insert its column types. */
  constructor(sql: MssqlModule, tx: MssqlTransaction, columns: ReadonlyMap<string, ColumnInfo>) {
    this.driver = sql;
    this.transaction = tx;
    this.live = columns;
  }

  private request(params: readonly unknown[]): MssqlRequest {
    const r = new this.driver.Request(this.transaction);
    params.forEach((v, i) => r.input(`p${i + 1}`, v));
    return r;
  }

  /** Rows of a statement. Rejects with the driver's error. */
  async select(sql: string, params: readonly unknown[] = []): Promise<Record<string, unknown>[]> {
    return (await this.request(params).query(named(sql))).recordset ?? [];
  }

  /** Runs a statement. Rejects with the driver's error. */
  async execute(sql: string, params: readonly unknown[] = []): Promise<void> {
    await this.request(params).query(named(sql));
  }

  /** Executes the procedure with each parameter typed as configured; resolves to the OUT parameter's value (undefined without one). Rejects with the driver's error (THROW / RAISERROR included). */
  async callProcedure(proc: SqlProcedureConfig, values: readonly unknown[]): Promise<unknown> {
    const r = new this.driver.Request(this.transaction);
    let n = 0;
    for (const p of proc.params) {
      const type = typeObject(this.driver, mssqlTypeOf(p.type));
      if (p.out) r.output(p.name, type);
      else r.input(p.name, type, values[n++]);
    }
    const result = await r.execute(proc.name);
    const out = proc.params.find((p) => p.out);
    return out ? result.output[out.name] : undefined;
  }
}

/** A {@link MssqlTx} that also bulk-inserts plain new rows (`Table` + `request.bulk`). */
export class MssqlBulkTx extends MssqlTx {
  /**
   * Bulk-inserts `rows` into `table` (an existing table; column types from
   * its live definition) with its CHECK constraints and triggers in force,
   * as an INSERT would. Rejects with the driver's error.
   */
  async copyRows(table: string, columns: readonly string[], rows: readonly (readonly unknown[])[]): Promise<void> {
    const t = new this.driver.Table(table);
    t.create = false;
    for (const c of columns) {
      const info = this.live.get(c.toUpperCase());
      t.columns.add(c, typeObject(this.driver, mssqlTypeOf(info?.type ?? 'nvarchar(max)')), { nullable: info?.nullable ?? true });
    }
    for (const row of rows) t.rows.add(...row);
    await new this.driver.Request(this.transaction).bulk(t, { checkConstraints: true, fireTriggers: true, keepNulls: true });
  }
}
