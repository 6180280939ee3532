/**
 * Cases of a pipeline with routes (issue 19, docs/routes.md): one
 * submission told to several back offices is one case, made of the rows of
 * its key in the pipeline's own ledger `P` (only when no route applied, or
 * an operator sent such a submission back) and in each route's lane
 * `P~ROUTE`. A case is complete when every route told has delivered, and
 * needs attention when a route rejected or dead-lettered it (which office,
 * what it said) while the other routes go on on their own.
 *
 * Reads ledger rows only: states, attempts, references and the last error
 * (code, field and reason, PII masked where the error was made), never a
 * body.
 */
import type { ErrorData } from '../../lib/errors.js';
import { PipelineCodes, PipelineError } from '../pipeline.errors.js';
import { readDateStrict, readInt, readJson } from '../store/sql.js';
import type { StateStore } from '../store/state-store.js';
import { likeLiteral, matchSubmissions, type MatchedBy, type SubmissionMatch } from './lookup.js';
import type { LedgerState } from './ledger.types.js';
import { errorFields } from './run-problems.js';

/** The separator of a lane's name, `<pipeline>~<route>` (never in a pipeline's own name). */
const SEPARATOR = '~';

/**
 * Where a case stands:
 * - `not-routed`: no route applied; only the pipeline's own row, rejected
 *   with `NO_ROUTE_APPLIES` (an operator may send it back: `rekey dlq retry P KEY`);
 * - `needs-attention`: a route's row is rejected or dead (the others go on);
 * - `complete`: every route told holds it delivered, or discarded by an
 *   operator (closed without delivery), and at least one delivered;
 * - `closed`: every route told holds it discarded: operators closed each
 *   without delivery;
 * - `in-progress`: anything else (a route still mapping, delivering or
 *   waiting to retry, or a submission sent back waiting to be routed).
 */
export type CaseState = 'not-routed' | 'needs-attention' | 'complete' | 'closed' | 'in-progress';

/** One row of a case: the pipeline's own, or a route's. */
export interface CaseRow {
  /** The route's name; null for the pipeline's own row. */
  route: string | null;
  /** The ledger name the row sits under: `P` or `P~ROUTE` (what every per-pipeline command takes). */
  pipeline: string;
  state: LedgerState;
  attempts: number;
  legacyRef: string | null;
  /** The last error, kept while the row is not delivered: code, field(s) and reason, never a value. */
  error: { code: string; field: string | null; message: string } | null;
  mappingVersion: string | null;
  updatedAt: Date;
}

/** One case: a key's rows in a pipeline and its lanes. */
export interface Case {
  pipeline: string;
  key: string;
  state: CaseState;
  /** The rows of the routes told, in route-name order. */
  routes: CaseRow[];
  /** Routes the store knows for the pipeline that hold no row of this key (their condition did not hold). */
  notTold: string[];
  /** The pipeline's own row (a submission no route applied to), or null. */
  intake: CaseRow | null;
}

/** The route of lane `lane` of `pipeline`, or undefined when `lane` is not one of its lanes. */
export function routeName(pipeline: string, lane: string): string | undefined {
  return lane.startsWith(`${pipeline}${SEPARATOR}`) && lane.length > pipeline.length + 1 ? lane.slice(pipeline.length + 1) : undefined;
}

/** The pipeline a lane `P~ROUTE` belongs to, or undefined for a pipeline's own name. */
export function laneOwner(lane: string): string | undefined {
  const at = lane.indexOf(SEPARATOR);
  return at > 0 ? lane.slice(0, at) : undefined;
}

/**
 * The lanes `P~ROUTE` that hold rows for `pipeline`, sorted; empty for a
 * pipeline without routes. Read from `ledger_counts` (a few rows per
 * pipeline and state, see `./counts.ts`), not from the ledger or the runs,
 * which grow without bound: a route that never held a row is not listed.
 */
export async function routesOf(store: StateStore, pipeline: string): Promise<string[]> {
  const rows = await store.select<{ pipeline: string }>(
    `SELECT pipeline FROM ledger_counts WHERE pipeline LIKE $1 ESCAPE '\\' GROUP BY pipeline, state HAVING SUM(n) <> 0`,
    [`${likeLiteral(pipeline)}${SEPARATOR}%`],
  );
  return [...new Set(rows.map((r) => r.pipeline))].filter((l) => routeName(pipeline, l) !== undefined).sort();
}

type Raw = { pipeline: string; state: LedgerState; attempts: number | string; legacy_ref: string | null; last_error: string | null; mapping_version: string | null; updated_at: unknown };

function toCaseRow(pipeline: string, r: Raw): CaseRow {
  const e = readJson<ErrorData>(r.last_error);
  return {
    route: routeName(pipeline, r.pipeline) ?? null,
    pipeline: r.pipeline,
    state: r.state,
    attempts: readInt(r.attempts),
    legacyRef: r.legacy_ref ?? null,
    error: e && r.state !== 'delivered' ? { code: String(e.code ?? ''), field: errorFields(e), message: String(e.message ?? '') } : null,
    mappingVersion: r.mapping_version ?? null,
    updatedAt: readDateStrict(r.updated_at),
  };
}

/** A case's state from its routes' rows and the pipeline's own row (see `CaseState`). */
export function caseState(routes: readonly Pick<CaseRow, 'state'>[], intake: Pick<CaseRow, 'state'> | null): CaseState {
  if (!routes.length) return intake?.state === 'rejected' ? 'not-routed' : 'in-progress';
  if (routes.some((r) => r.state === 'rejected' || r.state === 'dead')) return 'needs-attention';
  if (routes.every((r) => r.state === 'discarded')) return 'closed';
  if (routes.every((r) => r.state === 'delivered' || r.state === 'discarded')) return 'complete';
  return 'in-progress';
}

/**
 * The case of `key` in `pipeline`: its rows in the pipeline's own ledger
 * and in each lane `pipeline~*`; undefined when none holds the key.
 */
export async function caseOf(store: StateStore, pipeline: string, key: string): Promise<Case | undefined> {
  const lanes = await routesOf(store, pipeline);
  const names = [pipeline, ...lanes];
  const rows = await store.select<Raw>(
    `SELECT pipeline, state, attempts, legacy_ref, last_error, mapping_version, updated_at FROM ledger WHERE key = $1 AND pipeline IN (${names.map((_, i) => `$${i + 2}`).join(', ')})`,
    [key, ...names],
  );
  if (!rows.length) return undefined;
  const all = rows.map((r) => toCaseRow(pipeline, r));
  const intake = all.find((r) => r.route === null) ?? null;
  const routes = all.filter((r) => r.route !== null).sort((a, b) => (a.route! < b.route! ? -1 : 1));
  const told = new Set(routes.map((r) => r.pipeline));
  const notTold = lanes.filter((l) => !told.has(l)).map((l) => routeName(pipeline, l)!);
  return { pipeline, key, state: caseState(routes, intake), routes, notTold, intake };
}

const RANK: Record<MatchedBy, number> = { key: 0, reference: 1, 'legacy-ref': 1, prefix: 2 };

/**
 * The key of the one case of `pipeline` that `reference` names, matched as
 * `rekey show` matches (key, form reference, legacy reference, or the
 * start of one; see `matchSubmissions`) in the pipeline's own ledger and
 * in every lane: the best kind of match found anywhere wins, and a key
 * found in several lanes is one case. Throws `SUBMISSION_NOT_FOUND` when
 * none matches and `SUBMISSION_AMBIGUOUS` when several keys do.
 */
export async function resolveCase(store: StateStore, pipeline: string, reference: string): Promise<string> {
  const names = [pipeline, ...(await routesOf(store, pipeline))];
  const found: (SubmissionMatch & { lane: string })[] = [];
  for (const lane of names) for (const m of await matchSubmissions(store, lane, reference)) found.push({ ...m, lane });
  if (!found.length) {
    throw new PipelineError(PipelineCodes.SUBMISSION_NOT_FOUND, `pipeline ${pipeline} and its routes hold no submission matching ${JSON.stringify(reference)} (by key, form reference, legacy reference or prefix)`);
  }
  const best = Math.min(...found.map((m) => RANK[m.by]));
  const keys = [...new Map(found.filter((m) => RANK[m.by] === best).map((m) => [m.key, m])).values()];
  if (keys.length === 1) return keys[0]!.key;
  const listed = keys.slice(0, 20).map((m) => `  ${m.key} (${m.lane}: ${m.state}${m.legacyRef ? `, legacy ref ${m.legacyRef}` : ''})`);
  throw new PipelineError(
    PipelineCodes.SUBMISSION_AMBIGUOUS,
    `${JSON.stringify(reference)} matches ${keys.length} cases of pipeline ${pipeline}; give one of:\n${listed.join('\n')}${keys.length > 20 ? '\n  ... and more' : ''}`,
  );
}

/** How many cases of a routed pipeline stand in each `CaseState`. */
export type CaseCounts = Record<CaseState, number>;

/**
 * The cases of `pipeline` counted by state, from its own rows and those of
 * `lanes` (its `routesOf`). Reads one row per case (grouped in the
 * database), so it costs a scan of the pipeline's rows: for `rekey status`
 * of one store, not for a page that refreshes.
 */
export async function caseCounts(store: StateStore, pipeline: string, lanes: readonly string[]): Promise<CaseCounts> {
  const out: CaseCounts = { 'not-routed': 0, 'needs-attention': 0, complete: 0, closed: 0, 'in-progress': 0 };
  const names = [pipeline, ...lanes];
  const p = '$1';
  const sum = (cond: string) => `SUM(CASE WHEN ${cond} THEN 1 ELSE 0 END)`;
  const rows = await store.select<Record<string, number | string | null>>(
    `SELECT lanes, bad, discarded, delivered, own_rejected, COUNT(*) AS n FROM (
       SELECT key,
         ${sum(`pipeline <> ${p}`)} AS lanes,
         ${sum(`pipeline <> ${p} AND state IN ('rejected', 'dead')`)} AS bad,
         ${sum(`pipeline <> ${p} AND state = 'discarded'`)} AS discarded,
         ${sum(`pipeline <> ${p} AND state = 'delivered'`)} AS delivered,
         ${sum(`pipeline = ${p} AND state = 'rejected'`)} AS own_rejected
       FROM ledger WHERE pipeline IN (${names.map((_, i) => `$${i + 1}`).join(', ')}) GROUP BY key
     ) c GROUP BY lanes, bad, discarded, delivered, own_rejected`,
    names,
  );
  for (const r of rows) {
    const lanesN = readInt(r.lanes);
    const discarded = readInt(r.discarded);
    const state: CaseState = !lanesN
      ? readInt(r.own_rejected) ? 'not-routed' : 'in-progress'
      : readInt(r.bad) ? 'needs-attention'
      : discarded === lanesN ? 'closed'
      : discarded + readInt(r.delivered) === lanesN ? 'complete'
      : 'in-progress';
    out[state] += readInt(r.n);
  }
  return out;
}
