/**
 * What an auditor needs beside the chain: the record exactly as sent to the
 * legacy system, sealed under the submission's own data key in its
 * `ledger_bodies` row (so an erasure or a body purge removes it with the
 * body, while the audit log keeps its hash), and every mapping version's
 * full text, stored once by its version hash (`mapping_texts`), so the rule
 * a submission was keyed by can be shown after the mapping file changed.
 * `ledger.legacy_ref` is indexed: auditors look submissions up by the
 * legacy system's reference.
 */
import type { StoreMigration } from './migration.types.js';

/** Adds `ledger_bodies.sent`, `mapping_texts (version, text, created_at)` and an index on (pipeline, legacy_ref). */
export const migration0011: StoreMigration = {
  name: '0011-audit-trail',
  async up({ qi, transaction }) {
    const q = (sql: string) => qi.sequelize.query(sql, { transaction });
    await q('ALTER TABLE ledger_bodies ADD COLUMN sent TEXT');
    await q('CREATE TABLE mapping_texts (version TEXT NOT NULL PRIMARY KEY, text TEXT NOT NULL, created_at TEXT NOT NULL)');
    await q('CREATE INDEX ledger_legacy_ref ON ledger (pipeline, legacy_ref)');
  },
  async down({ qi, transaction }) {
    const q = (sql: string) => qi.sequelize.query(sql, { transaction });
    await q('DROP INDEX ledger_legacy_ref');
    await q('DROP TABLE mapping_texts');
    await q('ALTER TABLE ledger_bodies DROP COLUMN sent');
  },
};
