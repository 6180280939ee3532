/**
 * `ledger_bodies.legacy_error`: the legacy system's own error text of a
 * submission's last error, sealed under the submission's data key
 * (`pipelines/privacy/legacy-text.ts`). The text may quote a citizen's
 * values, so the ledger row and the audit log keep only its keyed hash;
 * kept in the body row, it is re-wrapped, purged and erased with the body.
 */
import type { StoreMigration } from './migration.types.js';

/** Adds the column (see the file's comment). */
export const migration0018: StoreMigration = {
  name: '0018-legacy-error-text',
  async up({ qi, transaction }) {
    await qi.sequelize.query('ALTER TABLE ledger_bodies ADD COLUMN legacy_error TEXT', { transaction });
  },
  async down({ qi, transaction }) {
    await qi.sequelize.query('ALTER TABLE ledger_bodies DROP COLUMN legacy_error', { transaction });
  },
};
