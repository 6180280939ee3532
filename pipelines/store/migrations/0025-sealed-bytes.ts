/**
 * Sealed bodies and sent copies as bytes. From this migration on, a SQLite
 * state file keeps a sealed body (`ledger_bodies.body`) and a sealed copy
 * of what was sent (`ledger_sent.sent`) as their bytes, BLOBs in the TEXT
 * columns (SQLite keeps a BLOB as it is whatever the column's type), a
 * quarter smaller than the base64 text written before. Rows written
 * before keep their text, and readers open both forms, so `up` changes
 * nothing. `down` turns every BLOB back into base64 text, which is what a
 * rekey before this migration reads. PostgreSQL keeps base64 text
 * throughout, so neither step does anything there.
 */
import { QueryTypes, type QueryInterface, type Transaction } from 'sequelize';
import type { StoreMigration } from './migration.types.js';

/** Rows turned back into text per read. */
const BATCH = 1_000;

/** Rewrites every BLOB in `table`.`column` as its base64 text, `BATCH` rows at a time. */
async function blobsToText(qi: QueryInterface, transaction: Transaction, table: string, column: string): Promise<void> {
  for (;;) {
    const rows = await qi.sequelize.query<{ id: number; v: Uint8Array }>(
      `SELECT id, ${column} AS v FROM ${table} WHERE typeof(${column}) = 'blob' ORDER BY id LIMIT ${BATCH}`,
      { transaction, type: QueryTypes.SELECT },
    );
    if (!rows.length) return;
    for (const r of rows) {
      await qi.sequelize.query(`UPDATE ${table} SET ${column} = $1 WHERE id = $2`, { transaction, bind: [Buffer.from(r.v).toString('base64'), r.id] });
    }
  }
}

/** Marks the stores whose sealed values may be bytes; down turns them back into base64 text on SQLite. */
export const migration0025: StoreMigration = {
  name: '0025-sealed-bytes',
  async up() {
    // Nothing to change: new rows are written as bytes, and rows written before open as text.
  },
  async down({ qi, dialect, transaction }) {
    if (dialect !== 'sqlite') return;
    await blobsToText(qi, transaction, 'ledger_bodies', 'body');
    await blobsToText(qi, transaction, 'ledger_sent', 'sent');
  },
};
