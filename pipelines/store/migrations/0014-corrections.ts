/**
 * Operators' corrections of mapped values the legacy system refused
 * (`Ledger.correct`): kept in the submission's own `ledger_bodies` row,
 * sealed under its data key like the body and the record as sent, so an
 * erasure or a body purge deletes them with the row and a key rotation
 * re-wraps the one data key. NULL for every submission never corrected.
 */
import type { StoreMigration } from './migration.types.js';

/** Adds `ledger_bodies.corrections`. */
export const migration0014: StoreMigration = {
  name: '0014-corrections',
  async up({ qi, transaction }) {
    await qi.sequelize.query('ALTER TABLE ledger_bodies ADD COLUMN corrections TEXT', { transaction });
  },
  async down({ qi, transaction }) {
    await qi.sequelize.query('ALTER TABLE ledger_bodies DROP COLUMN corrections', { transaction });
  },
};
