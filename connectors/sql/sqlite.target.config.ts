/**
 * `target.config` of kind `sqlite`, declared once: the database file and
 * the table settings every SQL target shares. The JSON Schema, the type
 * and the defaults derive from it.
 */
import { Type, type Static } from 'typebox';
import { closed, defaultsOf, withDefault } from '../config.schema.js';
import { sqlTableProperties } from './sql.config.js';

/** JSON Schema (draft-07) of {@link SqliteTargetConfig}. */
export const sqliteTargetConfigSchema = closed({
  path: Type.String({ minLength: 1, description: 'The SQLite database file, relative to the pipeline file.' }),
  ...sqlTableProperties,
  setupSql: Type.Optional(Type.String({ minLength: 1, description: 'SQL file run once when the table does not exist.' })),
  busyTimeoutMs: withDefault(Type.Integer({ minimum: 0, description: 'How long to wait for another writer’s lock, in ms; default 5000.' }), 5000),
});

/** `target.config` of kind `sqlite`. Relative paths are relative to the pipeline file. */
export type SqliteTargetConfig = Static<typeof sqliteTargetConfigSchema>;

/** Defaults of {@link SqliteTargetConfig}. */
export const SQLITE_TARGET_DEFAULTS = defaultsOf(sqliteTargetConfigSchema);
