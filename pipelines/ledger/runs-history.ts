/**
 * The pass history the console and `rekey passes` show: runs newest first,
 * a page at a time by keyset (`(started_at, id)` below the last one shown,
 * through the indexes `runs_pipeline_started` and `runs_started`, never an
 * OFFSET), one run by id, and the submissions a run rejected or
 * dead-lettered, read from the run's own audit entries between its
 * `run-started` and `run-finished` (see `run-problems.ts`), so a store of a
 * million submissions is never scanned for one pass.
 */
import type { ErrorData } from '../../lib/errors.js';
import type { AuditDetail } from '../audit/audit.types.js';
import { PipelineCodes, PipelineError } from '../pipeline.errors.js';
import { iso, readDateStrict, readInt } from '../store/sql.js';
import type { StateStore } from '../store/state-store.js';
import { toRun } from './ledger.rows.js';
import type { Actor, PassTrigger, RunSummary } from './ledger.types.js';
import { runRange, toProblems, type RunProblem } from './run-problems.js';

/** One pass as the history lists it. */
export interface PassRecord {
  id: string;
  pipeline: string;
  /** The runner that ran it (`runner:<host>:<pid>`) or the operator of `rekey run`. */
  actor: Actor;
  /** What started it; null for passes recorded before triggers were (or started without one). */
  trigger: PassTrigger | null;
  mappingVersion: string | null;
  /** `running` (no finish recorded: still going, or its runner died), `finished`, or `failed` (stopped on `error`). */
  status: 'running' | 'finished' | 'failed';
  startedAt: Date;
  finishedAt: Date | null;
  /** Milliseconds from start to finish; null while running. */
  durationMs: number | null;
  /** Counts of what the pass did; null while running. */
  summary: RunSummary | null;
  /** Submissions read per second over the pass; null while running or for a pass of no measurable length. */
  readPerSecond: number | null;
  /** Submissions delivered per second over the pass; null as `readPerSecond`. */
  deliveredPerSecond: number | null;
  /** The error it stopped on (code, disposition, message), when it failed. */
  error: ErrorData | null;
}

/** A page of a list, and the cursor of the next page (null on the last). */
export interface Page<T> {
  items: T[];
  next: string | null;
}

/** The most a page may hold. */
export const PAGE_MAX = 500;

function badRequest(message: string): PipelineError {
  return new PipelineError(PipelineCodes.LEDGER_BAD_REQUEST, message);
}

function checkLimit(limit: number): number {
  if (!Number.isInteger(limit) || limit < 1 || limit > PAGE_MAX) throw badRequest(`limit must be a whole number from 1 to ${PAGE_MAX}`);
  return limit;
}

function perSecond(count: number | undefined, ms: number | null): number | null {
  if (ms === null || ms <= 0 || count === undefined) return null;
  return Math.round((count * 1000 * 100) / ms) / 100;
}

function toPass(r: Record<string, unknown>): PassRecord {
  const run = toRun(r);
  const durationMs = run.finishedAt ? run.finishedAt.getTime() - run.startedAt.getTime() : null;
  return {
    id: run.id,
    pipeline: run.pipeline,
    actor: run.actor,
    trigger: run.trigger,
    mappingVersion: run.mappingVersion,
    status: run.error ? 'failed' : run.finishedAt ? 'finished' : 'running',
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
    durationMs,
    summary: run.summary,
    readPerSecond: perSecond(run.summary?.read, durationMs),
    deliveredPerSecond: perSecond(run.summary?.delivered, durationMs),
    error: run.error,
  };
}

const PASS_CURSOR = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)\|(.+)$/;

/**
 * Passes newest first: of `pipeline`, or of every pipeline without it, at
 * most `limit` (1 to `PAGE_MAX`) a page, starting below the cursor `before`
 * (a page's `next`, unchanged). Throws `LEDGER_BAD_REQUEST` for a limit out
 * of range or a cursor this function did not hand out.
 */
export async function listPasses(store: StateStore, opts: { pipeline?: string; limit: number; before?: string }): Promise<Page<PassRecord>> {
  const limit = checkLimit(opts.limit);
  const where: string[] = [];
  const params: unknown[] = [];
  if (opts.pipeline !== undefined) {
    params.push(opts.pipeline);
    where.push(`pipeline = $${params.length}`);
  }
  if (opts.before !== undefined) {
    const m = PASS_CURSOR.exec(opts.before);
    if (!m) throw badRequest('the cursor given is not one the pass list handed out; start again from the first page');
    params.push(m[1], m[2]);
    // The first conjunct (implied by the second) is an index range, so a deep page seeks to its cursor instead of walking from the newest pass.
    where.push(`started_at <= $${params.length - 1} AND (started_at < $${params.length - 1} OR (started_at = $${params.length - 1} AND id < $${params.length}))`);
  }
  const rows = await store.select<Record<string, unknown>>(
    `SELECT * FROM runs${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY started_at DESC, id DESC LIMIT ${limit + 1}`,
    params,
  );
  const items = rows.slice(0, limit).map(toPass);
  const last = items.at(-1);
  return { items, next: rows.length > limit && last ? `${iso(last.startedAt)}|${last.id}` : null };
}

/** One pass by its run id; throws `LEDGER_UNKNOWN_RUN` when no such run was started. */
export async function getPass(store: StateStore, runId: string): Promise<PassRecord> {
  const [row] = await store.select<Record<string, unknown>>('SELECT * FROM runs WHERE id = $1', [runId]);
  if (!row) throw new PipelineError(PipelineCodes.LEDGER_UNKNOWN_RUN, `no run ${JSON.stringify(runId)} was started`);
  return toPass(row);
}

/** What `runSubmissions` can list. */
export type PassOutcome = 'rejected' | 'dead';

const SUBMISSION_CURSOR = /^(\d+):(\d+)$/;

/** Audit entries read at a time while filling a page (each holds one batch's records). */
const ENTRIES_A_READ = 200;

/**
 * The submissions run `runId` rejected or dead-lettered (`states`, both
 * unless told), in the order it did so, at most `limit` (1 to `PAGE_MAX`)
 * a page, starting after the cursor `after` (a page's `next`). Each names
 * its key, form reference, outcome, field(s), error code and message
 * (already PII-masked when it was audited), never a value. Throws
 * `LEDGER_UNKNOWN_RUN` for a run never started and `LEDGER_BAD_REQUEST`
 * for a limit, state or cursor it does not know.
 */
export async function runSubmissions(store: StateStore, runId: string, opts: { states?: readonly PassOutcome[]; limit: number; after?: string }): Promise<Page<RunProblem>> {
  const limit = checkLimit(opts.limit);
  const states = opts.states ?? ['rejected', 'dead'];
  if (!states.length || states.some((s) => s !== 'rejected' && s !== 'dead')) throw badRequest('states must be rejected, dead or both');
  let [seq, index] = [0, -1];
  if (opts.after !== undefined) {
    const m = SUBMISSION_CURSOR.exec(opts.after);
    if (!m) throw badRequest('the cursor given is not one the submission list of a pass handed out; start again from the first page');
    [seq, index] = [Number(m[1]), Number(m[2])];
  }
  const range = await runRange(store, runId);
  const events = states.map((s) => `'${s}'`).join(', ');
  const items: RunProblem[] = [];
  let last = '';
  let from = Math.max(seq, range.after + 1);
  for (;;) {
    const rows = await store.select<{ seq: number | string; at: unknown; event: string; detail: string }>(
      `SELECT seq, at, event, detail FROM audit_log WHERE pipeline = $1 AND seq >= $2${range.before === null ? '' : ` AND seq < ${range.before}`} AND event IN (${events}) ORDER BY seq LIMIT ${ENTRIES_A_READ}`,
      [range.pipeline, from],
    );
    for (const r of rows) {
      const entry = readInt(r.seq);
      const detail = JSON.parse(r.detail) as AuditDetail;
      if (detail.runId !== runId) continue;
      const records = detail.records ?? [];
      for (let i = entry === seq ? index + 1 : 0; i < records.length; i++) {
        if (items.length === limit) return { items, next: last };
        const [problem] = toProblems(r.event as PassOutcome, readDateStrict(r.at), [records[i]!]);
        items.push(problem!);
        last = `${entry}:${i}`;
      }
    }
    if (rows.length < ENTRIES_A_READ) return { items, next: null };
    from = readInt(rows.at(-1)!.seq) + 1;
  }
}
