/**
 * Indexes behind the console's submission lists (`pipelines/ledger/search.ts`),
 * so a page of the newest submissions, by state, pipeline, date range or
 * reference, reads a few index entries even with a million rows:
 *
 * - `ledger_state_recent (state, updated_at, id)` and
 *   `ledger_pipeline_state_recent (pipeline, state, updated_at, id)`: newest
 *   first within one state (of one pipeline). A list over several states
 *   (or all) merges one ordered read per state, so no index on
 *   `updated_at` alone is needed.
 * - `ledger_key_lower`, `ledger_reference_lower`, `ledger_legacy_ref_lower`:
 *   the key, the form reference (the key's last `/` part) and the legacy
 *   reference in lower case, for matches and prefixes in any case. On
 *   PostgreSQL they sort by bytes (`COLLATE "C"`), so a prefix is a range
 *   whatever the database's collation.
 */
import type { StoreDialect } from '../state-store.js';
import type { StoreMigration } from './migration.types.js';

/** The form reference (the key's last `/` part, the whole key when it has none) in SQL both dialects run. */
export const FORM_REFERENCE_SQL = "substr(key, length(rtrim(key, replace(key, '/', ''))) + 1)";

/** `expr` in lower case, as the console's reference indexes hold it on `dialect`. */
export function lowerSql(dialect: StoreDialect, expr: string): string {
  return dialect === 'postgres' ? `(lower(${expr}) COLLATE "C")` : `lower(${expr})`;
}

/** Adds the console's ledger indexes (see the file's comment). */
export const migration0015: StoreMigration = {
  name: '0015-console-indexes',
  async up({ qi, dialect, transaction }) {
    const q = (sql: string) => qi.sequelize.query(sql, { transaction });
    await q('CREATE INDEX ledger_state_recent ON ledger (state, updated_at, id)');
    await q('CREATE INDEX ledger_pipeline_state_recent ON ledger (pipeline, state, updated_at, id)');
    await q(`CREATE INDEX ledger_key_lower ON ledger (${lowerSql(dialect, 'key')})`);
    await q(`CREATE INDEX ledger_reference_lower ON ledger (${lowerSql(dialect, FORM_REFERENCE_SQL)})`);
    await q(`CREATE INDEX ledger_legacy_ref_lower ON ledger (${lowerSql(dialect, 'legacy_ref')})`);
  },
  async down({ qi, transaction }) {
    const q = (sql: string) => qi.sequelize.query(sql, { transaction });
    for (const name of ['ledger_legacy_ref_lower', 'ledger_reference_lower', 'ledger_key_lower', 'ledger_pipeline_state_recent', 'ledger_state_recent']) await q(`DROP INDEX ${name}`);
  },
};
