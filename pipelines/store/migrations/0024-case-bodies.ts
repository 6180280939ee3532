/**
 * One body per case. A submission told to several routes was stored once
 * per route: each lane's `ledger_bodies` row held the same 2 KB
 * ciphertext. Now the body is stored once, in a row of its own with a
 * negative id (never a ledger id, see `caseBodyId`), sealed for the pipeline, not a lane;
 * each lane's row keeps its own data key copy, corrections and legacy
 * error, holds an empty body and names the case's row in `body_of`
 * (indexed, so the case's row is deleted with the last lane row naming
 * it). Rows written before this, and every row of a pipeline without
 * routes, hold their own body as before (`body_of` null).
 */
import type { StoreMigration } from './migration.types.js';

/** Adds `ledger_bodies.body_of` and its partial index; down refuses while a shared body is stored (rekey before it cannot open one). */
export const migration0024: StoreMigration = {
  name: '0024-case-bodies',
  async up({ qi, dialect, transaction }) {
    const q = (sql: string) => qi.sequelize.query(sql, { transaction });
    await q(`ALTER TABLE ledger_bodies ADD COLUMN body_of ${dialect === 'sqlite' ? 'INTEGER' : 'BIGINT'}`);
    await q('CREATE INDEX ledger_bodies_of ON ledger_bodies (body_of) WHERE body_of IS NOT NULL');
  },
  async down({ qi, transaction }) {
    const [rows] = await qi.sequelize.query('SELECT COUNT(*) AS n FROM ledger_bodies WHERE id < 0', { transaction });
    const n = Number((rows as { n: number | string }[])[0]?.n ?? 0);
    if (n > 0) {
      throw new Error(
        `the store holds ${n} bodies shared by a case's routes, sealed for the case: rekey before 0024-case-bodies cannot open them; purge or erase those cases first`,
      );
    }
    await qi.sequelize.query('DROP INDEX ledger_bodies_of', { transaction });
    await qi.sequelize.query('ALTER TABLE ledger_bodies DROP COLUMN body_of', { transaction });
  },
};
