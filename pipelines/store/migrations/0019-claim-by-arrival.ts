/**
 * Due submissions are claimed in the order they arrived: the claim index
 * `ledger_claim_order` becomes (pipeline, id) instead of (pipeline,
 * created_at, key), and `receive` hands out ledger ids in the order a
 * batch's records were read (see `ledger.receive.ts`). Records of one
 * receive batch shared one `created_at`, so they were claimed in key
 * order, not in the order of their file. Rows recorded before this step
 * keep the ids they had, given in key order within their batch.
 */
import type { MigrationContext, StoreMigration } from './migration.types.js';

const DUE_STATES = "state IN ('received', 'mapped', 'failed', 'delivering')";

async function reindex({ qi, transaction }: MigrationContext, columns: string): Promise<void> {
  await qi.sequelize.query('DROP INDEX ledger_claim_order', { transaction });
  await qi.sequelize.query(`CREATE INDEX ledger_claim_order ON ledger (${columns}) WHERE ${DUE_STATES}`, { transaction });
}

/** Rebuilds `ledger_claim_order` on (pipeline, id). */
export const migration0019: StoreMigration = {
  name: '0019-claim-by-arrival',
  up: (ctx) => reindex(ctx, 'pipeline, id'),
  down: (ctx) => reindex(ctx, 'pipeline, created_at, key'),
};
