/**
 * Operators pause and resume pipelines, and every pass records what started
 * it. A pause lives in the state store (`pipeline_controls`, one row per
 * pipeline ever paused), so every runner sharing the store honours it and it
 * survives restarts. `runs.trigger_kind` / `runs.trigger_by` say what started
 * a pass (a schedule, a watch, a webhook, the console or the CLI) and who
 * asked; both are null for runs recorded before this migration. The console
 * lists passes of every pipeline newest first, so `runs` gains an index on
 * (started_at, id) for keyset pages across pipelines.
 */
import type { StoreMigration } from './migration.types.js';

/** Creates `pipeline_controls (pipeline, paused, changed_by, reason, since)`, adds `runs.trigger_kind`, `runs.trigger_by` and the index `runs_started`. */
export const migration0013: StoreMigration = {
  name: '0013-pipeline-controls',
  async up({ qi, transaction }) {
    const q = (sql: string) => qi.sequelize.query(sql, { transaction });
    await q('CREATE TABLE pipeline_controls (pipeline TEXT NOT NULL PRIMARY KEY, paused BOOLEAN NOT NULL, changed_by TEXT NOT NULL, reason TEXT, since TEXT NOT NULL)');
    await q('ALTER TABLE runs ADD COLUMN trigger_kind TEXT');
    await q('ALTER TABLE runs ADD COLUMN trigger_by TEXT');
    await q('CREATE INDEX runs_started ON runs (started_at, id)');
  },
  async down({ qi, transaction }) {
    const q = (sql: string) => qi.sequelize.query(sql, { transaction });
    await q('DROP INDEX runs_started');
    await q('ALTER TABLE runs DROP COLUMN trigger_by');
    await q('ALTER TABLE runs DROP COLUMN trigger_kind');
    await q('DROP TABLE pipeline_controls');
  },
};
