/**
 * Pausing and resuming pipelines. A pause is a row of `pipeline_controls` in
 * the state store, so every runner sharing the store honours it and it
 * survives restarts; each change is audited (`pipeline-paused`,
 * `pipeline-resumed`) in the transaction that makes it. A paused pipeline
 * runs no pass (`rekey serve` skips its wake-ups, `rekey run` refuses it
 * unless told `--even-if-paused`), while its sources may still take in
 * submissions, which wait in the ledger.
 */
import type { AuditLog } from '../audit/audit-log.js';
import { PipelineCodes, PipelineError } from '../pipeline.errors.js';
import { iso, readBool, readDateStrict } from '../store/sql.js';
import type { StateStore } from '../store/state-store.js';
import type { Actor } from './ledger.types.js';

/** A pipeline's pause state, as the last pause or resume left it. */
export interface PipelineControl {
  pipeline: string;
  paused: boolean;
  /** Who paused it (or, once resumed, who resumed it). */
  by: Actor;
  /** Why it was paused; null once resumed. */
  reason: string | null;
  /** When it was paused (or resumed). */
  since: Date;
}

/** The longest pause reason kept: a short, plain note by an operator, not a document. */
export const PAUSE_REASON_MAX = 200;

type Raw = Record<string, unknown>;

function toControl(r: Raw): PipelineControl {
  return {
    pipeline: String(r.pipeline),
    paused: readBool(r.paused),
    by: String(r.changed_by),
    reason: (r.reason as string | null) ?? null,
    since: readDateStrict(r.since),
  };
}

function badRequest(message: string): PipelineError {
  return new PipelineError(PipelineCodes.LEDGER_BAD_REQUEST, message);
}

function checkNames(pipeline: string, actor: Actor): void {
  if (!pipeline.trim()) throw badRequest('a pipeline name is needed');
  if (!actor.trim()) throw badRequest('an actor is needed (who asked)');
}

/** A reason trimmed and checked: one line, of printable characters, at most `PAUSE_REASON_MAX` long. */
function checkReason(reason: string): string {
  const r = reason.trim();
  if (!r) throw badRequest('pausing needs a reason');
  if (r.length > PAUSE_REASON_MAX) throw badRequest(`the reason is ${r.length} characters long; keep it to ${PAUSE_REASON_MAX}`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(r)) throw badRequest('the reason must be one line of plain text (no line breaks or control characters)');
  return r;
}

/**
 * Pauses `pipeline` for `actor`, with `reason` (trimmed; one plain line of
 * at most `PAUSE_REASON_MAX` characters), and audits `pipeline-paused`
 * (detail `{ reason }`) in the same transaction; resolves to the new
 * control. Throws `PIPELINE_ALREADY_PAUSED` when it is paused already, and
 * `LEDGER_BAD_REQUEST` for an empty pipeline, actor or reason, a reason too
 * long or not one line. The pipeline need not be known to the store yet.
 */
export async function pausePipeline(store: StateStore, audit: AuditLog, pipeline: string, actor: Actor, reason: string): Promise<PipelineControl> {
  checkNames(pipeline, actor);
  const why = checkReason(reason);
  const now = new Date();
  return store.transaction(async (t) => {
    const rows = await store.select<Raw>(
      `INSERT INTO pipeline_controls (pipeline, paused, changed_by, reason, since) VALUES ($1, TRUE, $2, $3, $4)
       ON CONFLICT (pipeline) DO UPDATE SET paused = TRUE, changed_by = $2, reason = $3, since = $4 WHERE pipeline_controls.paused = FALSE
       RETURNING pipeline, paused, changed_by, reason, since`,
      [pipeline, actor, why, iso(now)],
      t,
    );
    if (!rows.length) {
      const [held] = await store.select<Raw>('SELECT * FROM pipeline_controls WHERE pipeline = $1', [pipeline], t);
      const since = held ? ` since ${readDateStrict(held.since).toISOString()} by ${String(held.changed_by)}` : '';
      throw new PipelineError(PipelineCodes.PIPELINE_ALREADY_PAUSED, `pipeline ${pipeline} is already paused${since}`);
    }
    await audit.append([{ pipeline, event: 'pipeline-paused', actor, at: now, detail: { keys: [], reason: why } }], { transaction: t });
    return toControl(rows[0]!);
  });
}

/**
 * Resumes a paused `pipeline` for `actor` and audits `pipeline-resumed` in
 * the same transaction; resolves to the new control. Throws
 * `PIPELINE_NOT_PAUSED` when it is not paused, `LEDGER_BAD_REQUEST` for an
 * empty pipeline or actor.
 */
export async function resumePipeline(store: StateStore, audit: AuditLog, pipeline: string, actor: Actor): Promise<PipelineControl> {
  checkNames(pipeline, actor);
  const now = new Date();
  return store.transaction(async (t) => {
    const rows = await store.select<Raw>(
      `UPDATE pipeline_controls SET paused = FALSE, changed_by = $2, reason = NULL, since = $3 WHERE pipeline = $1 AND paused = TRUE
       RETURNING pipeline, paused, changed_by, reason, since`,
      [pipeline, actor, iso(now)],
      t,
    );
    if (!rows.length) throw new PipelineError(PipelineCodes.PIPELINE_NOT_PAUSED, `pipeline ${pipeline} is not paused`);
    await audit.append([{ pipeline, event: 'pipeline-resumed', actor, at: now, detail: { keys: [] } }], { transaction: t });
    return toControl(rows[0]!);
  });
}

/** `pipeline`'s control, or null when it was never paused. */
export async function pipelineControl(store: StateStore, pipeline: string): Promise<PipelineControl | null> {
  const [row] = await store.select<Raw>('SELECT * FROM pipeline_controls WHERE pipeline = $1', [pipeline]);
  return row ? toControl(row) : null;
}

/** Whether `pipeline` is paused now. */
export async function isPaused(store: StateStore, pipeline: string): Promise<boolean> {
  return (await pipelineControl(store, pipeline))?.paused ?? false;
}

/** The controls of every pipeline ever paused (paused now or resumed since), by pipeline name. */
export async function pipelineControls(store: StateStore): Promise<PipelineControl[]> {
  const rows = await store.select<Raw>('SELECT * FROM pipeline_controls ORDER BY pipeline');
  return rows.map(toControl);
}
