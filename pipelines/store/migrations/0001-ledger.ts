/**
 * Ledger tables: `ledger` (one row per pipeline and submission key),
 * `ledger_conflicts` (a key seen again with other content, kept aside) and
 * `runs` (one row per run with its reconciliation summary).
 */
import { DataTypes, Op } from 'sequelize';
import type { StoreMigration } from './migration.types.js';

/** States a runner may still claim; the partial index below lists them in this order. */
export const DUE_STATES = ['received', 'mapped', 'failed', 'delivering'] as const;

/** Creates the ledger tables and their indexes. */
export const migration0001: StoreMigration = {
  name: '0001-ledger',
  async up({ qi, transaction }) {
    const text = (allowNull = true) => ({ type: DataTypes.TEXT, allowNull });
    const date = (allowNull = true) => ({ type: DataTypes.DATE, allowNull });
    await qi.createTable('ledger', {
      pipeline: { ...text(false), primaryKey: true },
      key: { ...text(false), primaryKey: true },
      content_hash: text(false),
      state: text(false),
      attempts: { type: DataTypes.INTEGER, allowNull: false, defaultValue: 0 },
      next_attempt_at: date(),
      last_error: text(),
      legacy_ref: text(),
      confirmed: { type: DataTypes.BOOLEAN, allowNull: false, defaultValue: false },
      mapping_version: text(),
      source: text(),
      body: text(false),
      lease_owner: text(),
      lease_until: date(),
      created_at: date(false),
      updated_at: date(false),
    }, { transaction });
    await qi.addIndex('ledger', ['pipeline', 'state', 'next_attempt_at'], { name: 'ledger_state_due', transaction });
    await qi.addIndex('ledger', ['pipeline', 'created_at', 'key'], {
      name: 'ledger_claim_order',
      where: { state: [...DUE_STATES] },
      transaction,
    });
    await qi.addIndex('ledger', ['pipeline', 'lease_owner'], { name: 'ledger_leases', where: { lease_owner: { [Op.ne]: null } }, transaction });
    await qi.createTable('ledger_conflicts', {
      id: { type: DataTypes.BIGINT, primaryKey: true, autoIncrement: true },
      pipeline: text(false),
      key: text(false),
      content_hash: text(false),
      body: text(false),
      source: text(),
      received_at: date(false),
    }, { transaction });
    await qi.addIndex('ledger_conflicts', ['pipeline', 'key'], { name: 'ledger_conflicts_key', transaction });
    await qi.createTable('runs', {
      id: { ...text(false), primaryKey: true },
      pipeline: text(false),
      actor: text(false),
      mapping_version: text(),
      started_at: date(false),
      finished_at: date(),
      summary: text(),
    }, { transaction });
    await qi.addIndex('runs', ['pipeline', 'started_at'], { name: 'runs_pipeline_started', transaction });
  },
  async down({ qi, transaction }) {
    await qi.dropTable('runs', { transaction });
    await qi.dropTable('ledger_conflicts', { transaction });
    await qi.dropTable('ledger', { transaction });
  },
};
