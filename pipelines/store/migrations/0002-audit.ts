/**
 * Audit tables: `audit_log` (the hash chain, one entry per event per
 * batch), `audit_keys` (which entries name which submission key) and
 * `audit_checkpoints` (signed chain heads).
 */
import { DataTypes } from 'sequelize';
import type { StoreMigration } from './migration.types.js';

/** Creates the audit tables and their indexes. */
export const migration0002: StoreMigration = {
  name: '0002-audit',
  async up({ qi, transaction }) {
    const text = (allowNull = true) => ({ type: DataTypes.TEXT, allowNull });
    await qi.createTable('audit_log', {
      seq: { type: DataTypes.BIGINT, primaryKey: true, allowNull: false },
      at: { type: DataTypes.DATE, allowNull: false },
      pipeline: text(false),
      event: text(false),
      actor: text(false),
      mapping_version: text(),
      target: text(),
      legacy_ref: text(),
      detail: text(false),
      prev_hash: text(false),
      hash: text(false),
    }, { transaction });
    await qi.addIndex('audit_log', ['pipeline', 'seq'], { name: 'audit_log_pipeline', transaction });
    await qi.addIndex('audit_log', ['at'], { name: 'audit_log_at', transaction });
    await qi.createTable('audit_keys', {
      seq: { type: DataTypes.BIGINT, allowNull: false },
      pipeline: text(false),
      key: text(false),
    }, { transaction });
    await qi.addIndex('audit_keys', ['pipeline', 'key', 'seq'], { name: 'audit_keys_key', transaction });
    await qi.createTable('audit_checkpoints', {
      id: { type: DataTypes.BIGINT, primaryKey: true, autoIncrement: true },
      seq: { type: DataTypes.BIGINT, allowNull: false },
      head_hash: text(false),
      signed_at: { type: DataTypes.DATE, allowNull: false },
      key_id: text(false),
      signature: text(false),
    }, { transaction });
  },
  async down({ qi, transaction }) {
    await qi.dropTable('audit_checkpoints', { transaction });
    await qi.dropTable('audit_keys', { transaction });
    await qi.dropTable('audit_log', { transaction });
  },
};
