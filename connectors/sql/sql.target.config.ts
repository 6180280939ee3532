/**
 * `target.config` of kind `sql`, declared once: a database URL (from the
 * environment: it may hold a password) and the table settings every SQL
 * target shares. The JSON Schema, the type and the defaults derive from it.
 */
import { Type, type Static } from 'typebox';
import { closed, defaultsOf, withDefault } from '../config.schema.js';
import { sqlTableProperties } from './sql.config.js';

/** JSON Schema (draft-07) of {@link SqlTargetConfig}. */
export const sqlTargetConfigSchema = closed({
  url: Type.String({
    minLength: 1,
    description: 'Database URL, best as { env: NAME }: postgres://, mariadb://, mysql://, mssql://, or sqlite:PATH (a path relative to the pipeline file).',
  }),
  ...sqlTableProperties,
  setupSql: Type.Optional(Type.String({ minLength: 1, description: 'SQL file run once when the table does not exist.' })),
  poolSize: withDefault(Type.Integer({ minimum: 1, maximum: 100, description: 'Most connections in the pool; default 5.' }), 5),
  statementTimeoutMs: withDefault(Type.Integer({ minimum: 1, description: 'Longest a statement may run, in ms, before the database cancels it (the batch is retried); default 30000.' }), 30_000),
  busyTimeoutMs: withDefault(Type.Integer({ minimum: 0, description: 'SQLite: how long to wait for another writer’s lock, in ms; default 5000.' }), 5000),
  bulkLoad: withDefault(
    Type.Boolean({ description: 'Insert many new rows at once with the database’s bulk load (PostgreSQL COPY, SQL Server bulk insert), falling back to INSERT statements when a row is refused; default true.' }),
    true,
  ),
  sqlMode: Type.Optional(
    Type.String({ pattern: '^[A-Z_,]*$', description: 'MariaDB/MySQL: sql_mode of the connections, as the legacy screens run it (\'\' is non-strict: read-back then reports values the database changed); default the server\'s.' }),
  ),
});

/** `target.config` of kind `sql`. Relative paths are relative to the pipeline file. */
export type SqlTargetConfig = Static<typeof sqlTargetConfigSchema>;

/** Defaults of {@link SqlTargetConfig}. */
export const SQL_TARGET_DEFAULTS = defaultsOf(sqlTargetConfigSchema);
