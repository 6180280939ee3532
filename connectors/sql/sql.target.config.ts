/**
 * `target.config` of kind `sql` and its JSON Schema: a database URL (from
 * the environment: it may hold a password) and the table settings every
 * SQL target shares.
 */
import { sqlTableProperties, type SqlTableConfig } from './sql.config.js';

/** `target.config` of kind `sql`. Relative paths are relative to the pipeline file. */
export type SqlTargetConfig = SqlTableConfig & {
  /**
   * `postgres://user:password@host:5432/db`, `mariadb://...`, `mysql://...`,
   * `mssql://...`, or `sqlite:path` / a path. Write it `{ env: NAME }`.
   */
  url: string;
  /** SQL file run once when the table does not exist (demos and tests). */
  setupSql?: string;
  /** Most connections the pool opens; default 5. */
  poolSize?: number;
  /** Longest a statement may run before the database cancels it (the batch is retried); default 30000 ms. */
  statementTimeoutMs?: number;
  /** SQLite: how long to wait for another writer's lock; default 5000 ms. */
  busyTimeoutMs?: number;
  /** Plain inserts of many new rows by the database's bulk load (PostgreSQL COPY, SQL Server bulk insert); default true. */
  bulkLoad?: boolean;
  /** MariaDB/MySQL: the connections' `sql_mode` (a legacy back office may run non-strict: `''`); default the server's. */
  sqlMode?: string;
};

/** JSON Schema (draft-07) of {@link SqlTargetConfig}. */
export const sqlTargetConfigSchema: Record<string, unknown> = {
  type: 'object',
  additionalProperties: false,
  required: ['url', 'table', 'keyColumn'],
  properties: {
    url: {
      type: 'string',
      minLength: 1,
      description: 'Database URL, best as { env: NAME }: postgres://, mariadb://, mysql://, mssql://, or sqlite:PATH (a path relative to the pipeline file).',
    },
    ...sqlTableProperties,
    setupSql: { type: 'string', minLength: 1, description: 'SQL file run once when the table does not exist.' },
    poolSize: { type: 'integer', minimum: 1, maximum: 100, description: 'Most connections in the pool; default 5.' },
    statementTimeoutMs: { type: 'integer', minimum: 1, description: 'Longest a statement may run, in ms, before the database cancels it (the batch is retried); default 30000.' },
    busyTimeoutMs: { type: 'integer', minimum: 0, description: 'SQLite: how long to wait for another writer’s lock, in ms; default 5000.' },
    bulkLoad: { type: 'boolean', description: 'Insert many new rows at once with the database’s bulk load (PostgreSQL COPY, SQL Server bulk insert), falling back to INSERT statements when a row is refused; default true.' },
    sqlMode: { type: 'string', pattern: '^[A-Z_,]*$', description: 'MariaDB/MySQL: sql_mode of the connections, as the legacy screens run it (\'\' is non-strict: read-back then reports values the database changed); default the server\'s.' },
  },
};
