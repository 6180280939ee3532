/**
 * A run that stopped on an error keeps its code, disposition and message,
 * so `rekey status` shows it as failed instead of "running or interrupted".
 */
import type { StoreMigration } from './migration.types.js';

/** Adds `runs.error` (JSON `{ code, disposition, message }`, null for a run that finished its work). */
export const migration0007: StoreMigration = {
  name: '0007-run-errors',
  async up({ qi, transaction }) {
    await qi.sequelize.query('ALTER TABLE runs ADD COLUMN error TEXT', { transaction });
  },
  async down({ qi, transaction }) {
    await qi.sequelize.query('ALTER TABLE runs DROP COLUMN error', { transaction });
  },
};
