/**
 * Cheaper ledger writes. Bodies move out of `ledger` into the write-once
 * `ledger_bodies`: a ledger row is updated on its way to `delivered`, and
 * each update rewrote the body with it. Leases are found through
 * `ledger_claim_order` (a leased row is always in a due state), so
 * `ledger_leases` goes. `ledger_state_due` leaves out `delivered` rows, the
 * great majority, which no query looks up by state (they are counted as
 * the rest), so delivering a row no longer rewrites an index entry.
 */
import type { StoreMigration } from './migration.types.js';

/** Creates `ledger_bodies`, moves the bodies there, drops `ledger.body` and `ledger_leases`, and makes `ledger_state_due` partial. */
export const migration0003: StoreMigration = {
  name: '0003-ledger-bodies',
  async up({ qi, transaction }) {
    const q = (sql: string) => qi.sequelize.query(sql, { transaction });
    await q('CREATE TABLE ledger_bodies (pipeline TEXT NOT NULL, key TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (pipeline, key))');
    await q('INSERT INTO ledger_bodies (pipeline, key, body) SELECT pipeline, key, body FROM ledger');
    await q('DROP INDEX ledger_leases');
    await q('DROP INDEX ledger_state_due');
    await q("CREATE INDEX ledger_state_due ON ledger (pipeline, state, next_attempt_at) WHERE state <> 'delivered'");
    await q('ALTER TABLE ledger DROP COLUMN body');
  },
  async down({ qi, transaction }) {
    const q = (sql: string) => qi.sequelize.query(sql, { transaction });
    await q("ALTER TABLE ledger ADD COLUMN body TEXT NOT NULL DEFAULT 'null'");
    await q('UPDATE ledger SET body = (SELECT b.body FROM ledger_bodies b WHERE b.pipeline = ledger.pipeline AND b.key = ledger.key)');
    await q('CREATE INDEX ledger_leases ON ledger (pipeline, lease_owner) WHERE lease_owner IS NOT NULL');
    await q('DROP INDEX ledger_state_due');
    await q('CREATE INDEX ledger_state_due ON ledger (pipeline, state, next_attempt_at)');
    await q('DROP TABLE ledger_bodies');
  },
};
