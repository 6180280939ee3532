/**
 * Runs remember the version of the pipeline definition they ran with, so a
 * run can tell that the definition changed since the last one and audit it.
 */
import type { StoreMigration } from './migration.types.js';

/** Adds `runs.definition_version` (plain SQL: the query interface names the `public` schema, not the one on the search path). */
export const migration0004: StoreMigration = {
  name: '0004-run-versions',
  async up({ qi, transaction }) {
    await qi.sequelize.query('ALTER TABLE runs ADD COLUMN definition_version TEXT', { transaction });
  },
  async down({ qi, transaction }) {
    await qi.sequelize.query('ALTER TABLE runs DROP COLUMN definition_version', { transaction });
  },
};
