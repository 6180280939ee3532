/**
 * Ledger row counts by pipeline and state, read from `ledger_counts`, which
 * triggers keep in step with the rows (migration 0016), so a count costs a
 * few rows however large the ledger grows.
 *
 * On PostgreSQL each writing statement appends signed deltas; once more
 * than `FOLD_AFTER` rows have piled up, a read first folds them into one row
 * per pipeline and state. The fold deletes the rows it sums and inserts the
 * sums in one statement, so deltas a concurrent transaction has not yet
 * committed are neither counted nor lost, and two folds at once each fold
 * the rows they deleted.
 */
import { readInt } from '../store/sql.js';
import type { StateStore } from '../store/state-store.js';
import type { StateCounts } from './ledger.js';
import { TRANSITIONS, type LedgerState } from './ledger.types.js';

const LEDGER_STATES = Object.keys(TRANSITIONS) as LedgerState[];

/** Delta rows on PostgreSQL above which a read folds them first. */
export const FOLD_AFTER = 2_000;

const FOLD = `WITH gone AS (DELETE FROM ledger_counts RETURNING pipeline, state, n)
  INSERT INTO ledger_counts (pipeline, state, n) SELECT pipeline, state, SUM(n) FROM gone GROUP BY pipeline, state HAVING SUM(n) <> 0`;

/** Every state at zero. */
export function zeroCounts(): StateCounts {
  return Object.fromEntries(LEDGER_STATES.map((s) => [s, 0])) as StateCounts;
}

/** Folds PostgreSQL's delta rows into one row per pipeline and state when more than `FOLD_AFTER` have piled up. */
async function foldIfNeeded(store: StateStore): Promise<void> {
  if (store.dialect !== 'postgres') return;
  const [row] = await store.select<{ n: number | string }>(`SELECT COUNT(*) AS n FROM (SELECT 1 FROM ledger_counts LIMIT ${FOLD_AFTER + 1}) AS r`);
  if (readInt(row?.n) > FOLD_AFTER) await store.exec(FOLD);
}

/**
 * Row counts by state, per pipeline, every state present (zero if none): of
 * `pipelines` (each present, zeros if it has no rows), else of every
 * pipeline with rows.
 */
export async function countsByState(store: StateStore, pipelines?: readonly string[]): Promise<Record<string, StateCounts>> {
  const out: Record<string, StateCounts> = {};
  if (pipelines) for (const name of pipelines) out[name] = zeroCounts();
  if (pipelines && !pipelines.length) return out;
  await foldIfNeeded(store);
  const names = pipelines ? [...new Set(pipelines)] : [];
  const where = pipelines ? ` WHERE pipeline IN (${names.map((_, i) => `$${i + 1}`).join(', ')})` : '';
  const rows = await store.select<{ pipeline: string; state: LedgerState; n: number | string }>(
    `SELECT pipeline, state, SUM(n) AS n FROM ledger_counts${where} GROUP BY pipeline, state HAVING SUM(n) <> 0`,
    names,
  );
  for (const r of rows) if (LEDGER_STATES.includes(r.state)) (out[r.pipeline] ??= zeroCounts())[r.state] = readInt(r.n);
  return out;
}
