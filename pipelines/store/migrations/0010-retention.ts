/**
 * Retention may delete ledger rows, and `audit_keys` finds a key's audit
 * entries through its ledger row's id. Before a row is purged, its index
 * entries move to `audit_keys_retired` by (pipeline, key), so the history
 * of a purged submission can still be looked up, and an id SQLite hands out
 * again never inherits an old submission's entries.
 */
import type { StoreMigration } from './migration.types.js';

/** Creates `audit_keys_retired (seq, pipeline, key)`, indexed by (pipeline, key, seq). */
export const migration0010: StoreMigration = {
  name: '0010-retention',
  async up({ qi, transaction }) {
    const q = (sql: string) => qi.sequelize.query(sql, { transaction });
    await q('CREATE TABLE audit_keys_retired (seq BIGINT NOT NULL, pipeline TEXT NOT NULL, key TEXT NOT NULL)');
    await q('CREATE INDEX audit_keys_retired_key ON audit_keys_retired (pipeline, key, seq)');
  },
  async down({ qi, transaction }) {
    await qi.sequelize.query('DROP TABLE audit_keys_retired', { transaction });
  },
};
