/**
 * Citizens' data at rest: bodies are sealed under a data key of their own,
 * stored wrapped beside them (`kid`, `dek` in `ledger_bodies` and
 * `ledger_conflicts`; null only for
 * a body written before this migration, sealed when a runtime next opens
 * the store). Files rekey keeps (evidence, inbox copies) are registered in
 * `sealed_files` with their wrapped data key and the submission they
 * belong to, so that keys rotate, retention purges and erasure shreds
 * without reading a folder. `ledger.erased_at` marks a submission erased.
 */
import type { StoreMigration } from './migration.types.js';

/** Adds `kid` and `dek` to `ledger_bodies` and `ledger_conflicts`, `ledger.erased_at`, and `sealed_files`. */
export const migration0008: StoreMigration = {
  name: '0008-data-at-rest',
  async up({ qi, dialect, transaction }) {
    const q = (sql: string) => qi.sequelize.query(sql, { transaction });
    const at = dialect === 'postgres' ? 'TIMESTAMPTZ' : 'TEXT';
    const id = dialect === 'postgres' ? 'BIGSERIAL PRIMARY KEY' : 'INTEGER PRIMARY KEY';
    await q('ALTER TABLE ledger_bodies ADD COLUMN kid TEXT');
    await q('ALTER TABLE ledger_bodies ADD COLUMN dek TEXT');
    await q('ALTER TABLE ledger_conflicts ADD COLUMN kid TEXT');
    await q('ALTER TABLE ledger_conflicts ADD COLUMN dek TEXT');
    await q(`ALTER TABLE ledger ADD COLUMN erased_at ${at}`);
    await q(`CREATE TABLE sealed_files (id ${id}, pipeline TEXT NOT NULL, path TEXT NOT NULL, kind TEXT NOT NULL, subject TEXT,
      kid TEXT NOT NULL, dek TEXT NOT NULL, created_at ${at} NOT NULL, UNIQUE (pipeline, path))`);
    await q('CREATE INDEX sealed_files_subject ON sealed_files (pipeline, subject)');
    await q('CREATE INDEX sealed_files_kind_age ON sealed_files (pipeline, kind, created_at)');
    await q('CREATE INDEX sealed_files_kid ON sealed_files (kid)');
  },
  async down({ qi, transaction }) {
    const q = (sql: string) => qi.sequelize.query(sql, { transaction });
    await q('DROP TABLE sealed_files');
    await q('ALTER TABLE ledger DROP COLUMN erased_at');
    await q('ALTER TABLE ledger_bodies DROP COLUMN dek');
    await q('ALTER TABLE ledger_bodies DROP COLUMN kid');
    await q('ALTER TABLE ledger_conflicts DROP COLUMN dek');
    await q('ALTER TABLE ledger_conflicts DROP COLUMN kid');
  },
};
