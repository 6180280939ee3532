/**
 * One body per case (migration 0024): a submission recorded in several
 * lanes `P~ROUTE` of a pipeline with routes in one transaction is sealed
 * once, for the pipeline `P`, and stored once in a `ledger_bodies` row of
 * its own whose id is negative (never a ledger id), {@link caseBodyId} of
 * the first lane row's id. Each lane's own body row keeps its copy of the
 * wrapped data key (its sent copy, corrections and legacy error are sealed
 * under it as before), holds an empty body, and names the case's row in
 * `body_of`.
 *
 * Readers join both rows ({@link BODY_JOIN}, {@link BODY_TEXT}) and open
 * the text as the pipeline's ({@link bodyPipeline}). Deleting a lane's body
 * row (retention, erasure) deletes the case's row with the last lane row
 * that names it ({@link deleteBodies}), so a body shared by routes lives
 * as long as one of them still holds it.
 */
import { laneOwner } from '../ledger/cases.js';
import { inList, listParam } from '../store/sql.js';
import { deleteSentCopies } from './sent-copy.js';
import type { StateStore, StoreTx } from '../store/state-store.js';

/** Below every case body's id: ledger ids are positive, case bodies' ids negative. */
const CASE_BODY_BASE = 2 ** 52;

/**
 * The id of the case body first stored with lane row `laneId`: negative,
 * so never a ledger id, and rising with `laneId`, so that case bodies are
 * appended to the table's B-tree in order (ids that fell as they were
 * handed out, such as `-laneId`, split its pages half empty). Exact in a
 * JavaScript number while ledger ids stay below 2^52.
 */
export function caseBodyId(laneId: number): number {
  return laneId - CASE_BODY_BASE;
}

/** Joins to ledger `l` its own body row `b` and the case's body row `sb` that `b` names, if any. */
export const BODY_JOIN = 'LEFT JOIN ledger_bodies b ON b.id = l.id LEFT JOIN ledger_bodies sb ON sb.id = b.body_of';

/** The stored body text of ledger row `l` under {@link BODY_JOIN}: its own, or its case's; null when purged or erased. */
export const BODY_TEXT = 'CASE WHEN b.body_of IS NULL THEN b.body ELSE sb.body END';

/** The pipeline a body of lane row `pipeline` is sealed for: the lane's own name, or its pipeline's when it is the case's body (`body_of` set). */
export function bodyPipeline(pipeline: string, bodyOf: unknown): string {
  return bodyOf === null || bodyOf === undefined ? pipeline : (laneOwner(pipeline) ?? pipeline);
}

/**
 * Deletes the body rows of ledger rows matching `where` (on their ledger
 * id, `id`, with `$1`... in `params`), in `t`: their sent copies (sealed
 * under the data keys those rows hold), the rows (with their corrections
 * and legacy errors), then each case's body row that no body row names
 * any more. Resolves to how many of the ledger rows' own body rows it
 * deleted.
 */
export async function deleteBodies(store: StateStore, where: string, params: unknown[], t: StoreTx): Promise<number> {
  await deleteSentCopies(store, where, params, t);
  const gone = await store.select<{ body_of: number | string | null }>(`DELETE FROM ledger_bodies WHERE ${where} RETURNING body_of`, params, t);
  const named = [...new Set(gone.flatMap((r) => (r.body_of === null || r.body_of === undefined ? [] : [Number(r.body_of)])))];
  if (named.length) {
    await store.exec(
      `DELETE FROM ledger_bodies WHERE ${inList(store, 'id', 1, 'bigint')} AND NOT EXISTS (SELECT 1 FROM ledger_bodies r WHERE r.body_of = ledger_bodies.id)`,
      [listParam(store, named)],
      t,
    );
  }
  return gone.length;
}
