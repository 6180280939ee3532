/**
 * `ledger_sent`: the record as sent of each delivered submission (sealed,
 * see `pipelines/privacy/sent-copy.ts`), moved out of `ledger_bodies.sent`
 * into a table of its own, keyed by the same ledger id. Writing it used to
 * rewrite the submission's body row (a 1.5 KB ciphertext, zeroed first
 * under `secure_delete`) to add a 0.4 KB copy; now it is a small row of
 * its own. The copy is still sealed under the body row's data key, so it
 * still opens only while that row exists, and is deleted with it.
 */
import type { StoreMigration } from './migration.types.js';

/** Creates `ledger_sent (id, sent)`, moves every `ledger_bodies.sent` there and drops that column. */
export const migration0023: StoreMigration = {
  name: '0023-ledger-sent',
  async up({ qi, dialect, transaction }) {
    const q = (sql: string) => qi.sequelize.query(sql, { transaction });
    await q(`CREATE TABLE ledger_sent (id ${dialect === 'sqlite' ? 'INTEGER' : 'BIGINT'} PRIMARY KEY, sent TEXT NOT NULL)`);
    await q('INSERT INTO ledger_sent (id, sent) SELECT id, sent FROM ledger_bodies WHERE sent IS NOT NULL');
    await q('ALTER TABLE ledger_bodies DROP COLUMN sent');
  },
  async down({ qi, transaction }) {
    const q = (sql: string) => qi.sequelize.query(sql, { transaction });
    await q('ALTER TABLE ledger_bodies ADD COLUMN sent TEXT');
    await q('UPDATE ledger_bodies SET sent = (SELECT s.sent FROM ledger_sent s WHERE s.id = ledger_bodies.id)');
    await q('DROP TABLE ledger_sent');
  },
};
