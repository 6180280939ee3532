/**
 * Connectors keep small durable facts of their own in the state store (the
 * next file sequence number, the journal of dropped files, a watermark), so
 * they survive a crash together with the ledger they relate to.
 */
import type { StoreMigration } from './migration.types.js';

/** Creates `connector_state`: one text value per (pipeline, name). */
export const migration0005: StoreMigration = {
  name: '0005-connector-state',
  async up({ qi, dialect, transaction }) {
    const at = dialect === 'postgres' ? 'TIMESTAMPTZ' : 'TEXT';
    await qi.sequelize.query(
      `CREATE TABLE connector_state (pipeline TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL, updated_at ${at} NOT NULL, PRIMARY KEY (pipeline, name))`,
      { transaction },
    );
  },
  async down({ qi, transaction }) {
    await qi.sequelize.query('DROP TABLE connector_state', { transaction });
  },
};
