/**
 * Target `sql`: one connector for every SQL database, chosen by the URL's
 * scheme. `postgres://`, `mariadb://`, `mysql://` and `mssql://` go through
 * Sequelize's pool (server.target.ts); `sqlite:PATH` or a plain path goes
 * to the SQLite target (sqlite.target.ts), which the `sqlite` kind also
 * names.
 */
import type { ConnectorDef, ConnectorEnv, Target } from '../connector.types.js';
import { ServerSqlTarget } from './server.target.js';
import { SqliteTarget } from './sqlite.target.js';
import { parseSqlUrl } from './sql.url.js';
import { jsonSchema } from '../config.schema.js';
import { sqlTargetConfigSchema, type SqlTargetConfig } from './sql.target.config.js';

export { sqlTargetConfigSchema, type SqlTargetConfig } from './sql.target.config.js';

/**
 * Builds the target for `config.url` (a SQLite URL gives a
 * {@link SqliteTarget}). Throws (a set-up problem the loader reports at
 * `target.config`) for an unknown scheme; messages never hold the URL's
 * password.
 */
export function createSqlTarget(config: SqlTargetConfig, env: ConnectorEnv): Target {
  const url = parseSqlUrl(config.url);
  if (url.dialect === 'sqlite') {
    const { url: _url, poolSize: _pool, statementTimeoutMs: _timeout, sqlMode: _mode, bulkLoad: _bulk, ...rest } = config;
    return new SqliteTarget({ ...rest, path: url.path }, env);
  }
  return new ServerSqlTarget(url, config.url, config, env);
}

/** The `sql` target's declaration for the registry. */
export const sqlTarget: ConnectorDef<SqlTargetConfig, Target> = {
  name: 'sql',
  kind: 'target',
  doc: 'Writes each record as a row of a table in PostgreSQL, MariaDB/MySQL, SQL Server or SQLite (chosen by the URL), once per submission key: insert, upsert or update by key, batches isolated row by row on a refused value, the table and mapping checked at connect.',
  configSchema: jsonSchema(sqlTargetConfigSchema),
  create: (config, env) => createSqlTarget(config, env),
};
