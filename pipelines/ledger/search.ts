/**
 * The console's submission lists: every submission, or those of one
 * pipeline, in some states, changed within a date range, or matching a
 * reference a person holds, newest change first, a page at a time. Pages
 * follow an opaque cursor (keyset pagination: the last row's change time
 * and id), so the 50th page costs what the first does, at a million rows.
 *
 * Rows carry what a list shows (pipeline, key, form reference, state,
 * attempts, legacy reference, times, and the last error's code, field and
 * reason) and never the body: reasons never hold a value of the
 * submission. Migration 0015 adds the indexes these queries read.
 */
import type { ErrorData } from '../../lib/errors.js';
import { PipelineCodes, PipelineError } from '../pipeline.errors.js';
import { FORM_REFERENCE_SQL, lowerSql } from '../store/migrations/0015-console-indexes.js';
import { iso, readDateStrict, readInt, readJson } from '../store/sql.js';
import type { StateStore } from '../store/state-store.js';
import { LEDGER_STATES } from './ledger.js';
import type { LedgerState } from './ledger.types.js';
import type { MatchedBy } from './lookup.js';
import { errorFields, formReference } from './run-problems.js';

/** Largest page `searchSubmissions` returns. */
export const SEARCH_MAX_LIMIT = 500;
/** Fewest characters of `q` (code points) matched as the start of a reference; shorter is matched whole only. */
export const PREFIX_MIN_LENGTH = 3;
/** Most references that may start with `q` for it to be matched as a start; with more, it is matched whole only. */
export const PREFIX_MATCH_MAX = 1000;

/** What to list; every filter given must hold. */
export interface SubmissionSearch {
  /**
   * A reference, matched as `rekey show` does, in any letter case: the key,
   * the form reference (the key's last `/` part) or the legacy reference,
   * whole or, from `PREFIX_MIN_LENGTH` characters, its start (while at most
   * `PREFIX_MATCH_MAX` references start with it; see `SubmissionPage.prefix`).
   * Blank is no filter. `%` and `_` are plain characters.
   */
  q?: string;
  /** Only this pipeline's submissions (else every pipeline's). */
  pipeline?: string;
  /** Only submissions in these states (else every state). */
  states?: readonly LedgerState[];
  /** Only submissions whose last change (`updatedAt`) is at or after this time. */
  from?: Date;
  /** Only submissions whose last change (`updatedAt`) is before this time. */
  to?: Date;
  /** Rows per page, 1 to `SEARCH_MAX_LIMIT`. */
  limit: number;
  /** The `next` cursor of the previous page; absent for the first page. */
  after?: string;
}

/** The last error of a submission as a list shows it: never a value of the submission. */
export interface SubmissionProblem {
  code: string;
  /** The field(s) the error names, comma-separated, or null. */
  field: string | null;
  /** The reason in words (PII already masked where the error was made). */
  reason: string;
}

/** One submission of a list. */
export interface SubmissionListRow {
  pipeline: string;
  key: string;
  /** The form platform's reference: the key's last `/` part. */
  reference: string;
  state: LedgerState;
  attempts: number;
  legacyRef: string | null;
  /** When the ledger received it. */
  createdAt: Date;
  /** Its last change; lists are ordered by it, newest first. */
  updatedAt: Date;
  /** Its last error, kept while it is not delivered; null when none. */
  error: SubmissionProblem | null;
  /** With `q`: how it matched (the whole key, form reference or legacy reference, else the start of one). */
  matchedBy?: MatchedBy;
}

/**
 * How a search's `q` was matched: `on` whole references and their starts;
 * `too-short` and `too-many` whole references only, because `q` is shorter
 * than `PREFIX_MIN_LENGTH` or more than `PREFIX_MATCH_MAX` references start
 * with it (sorting that many by change time would take seconds at a
 * million submissions).
 */
export type PrefixMatching = 'on' | 'too-short' | 'too-many';

/** A page of a list, and the cursor of the next one (absent on the last page). */
export interface SubmissionPage {
  rows: SubmissionListRow[];
  next?: string;
  /** With `q`: whether starts of references were matched, or whole references only and why. */
  prefix?: PrefixMatching;
}

type Raw = {
  id: number | string;
  pipeline: string;
  key: string;
  state: LedgerState;
  attempts: number | string;
  legacy_ref: string | null;
  last_error: string | null;
  created_at: unknown;
  updated_at: unknown;
};

const COLUMNS = 'id, pipeline, key, state, attempts, legacy_ref, last_error, created_at, updated_at';
const ORDER = 'ORDER BY updated_at DESC, id DESC';
/** Above every character: a prefix's matches sort from the prefix up to the prefix followed by this. */
const TOP_CHAR = String.fromCodePoint(0x10ffff);

function invalidFilter(message: string): PipelineError {
  return new PipelineError(PipelineCodes.SEARCH_FILTER_INVALID, message);
}

function badCursor(): PipelineError {
  return new PipelineError(PipelineCodes.SEARCH_CURSOR_INVALID, 'cursor `after` is not one a submission list handed out; start again from the first page');
}

/** The cursor of the page after `row`: its change time and id, opaque to callers. */
function encodeCursor(updatedAt: Date, id: number): string {
  return Buffer.from(JSON.stringify([1, updatedAt.toISOString(), id])).toString('base64url');
}

/** Reads a cursor `encodeCursor` made; throws `SEARCH_CURSOR_INVALID` for anything else. */
function decodeCursor(cursor: string): { at: string; id: number } {
  let parsed: unknown;
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw badCursor();
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw badCursor();
  }
  if (!Array.isArray(parsed) || parsed.length !== 3 || parsed[0] !== 1) throw badCursor();
  const [, at, id] = parsed as unknown[];
  if (typeof at !== 'string' || typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) throw badCursor();
  const date = new Date(at);
  if (Number.isNaN(date.getTime()) || date.toISOString() !== at) throw badCursor();
  return { at, id };
}

function checkDate(name: string, d: Date | undefined): string | undefined {
  if (d === undefined) return undefined;
  if (!(d instanceof Date) || Number.isNaN(d.getTime())) throw invalidFilter(`${name} must be a valid date`);
  return iso(d);
}

function checkSearch(search: SubmissionSearch): { states: readonly LedgerState[]; from?: string; to?: string } {
  const { limit } = search;
  if (!Number.isInteger(limit) || limit < 1 || limit > SEARCH_MAX_LIMIT) throw invalidFilter(`limit must be a whole number from 1 to ${SEARCH_MAX_LIMIT}`);
  const states = search.states?.length ? [...new Set(search.states)] : LEDGER_STATES;
  const unknown = states.find((s) => !LEDGER_STATES.includes(s));
  if (unknown !== undefined) throw invalidFilter(`states: ${JSON.stringify(unknown)} is not a ledger state (${LEDGER_STATES.join(', ')})`);
  return { states, from: checkDate('from', search.from), to: checkDate('to', search.to) };
}

/** Collects bind parameters, numbering them `$1`, `$2`, ... */
class Params {
  readonly values: unknown[] = [];
  add(v: unknown): string {
    this.values.push(v);
    return `$${this.values.length}`;
  }
}

function toProblem(lastError: string | null): SubmissionProblem | null {
  const e = readJson<ErrorData>(lastError);
  if (!e) return null;
  return { code: String(e.code ?? ''), field: errorFields(e), reason: String(e.message ?? '') };
}

function matchedBy(r: Raw, q: string): MatchedBy {
  const lower = q.toLowerCase();
  if (r.key.toLowerCase() === lower) return 'key';
  if (formReference(r.key).toLowerCase() === lower) return 'reference';
  if (r.legacy_ref?.toLowerCase() === lower) return 'legacy-ref';
  return 'prefix';
}

function toRow(r: Raw, q: string | undefined): SubmissionListRow {
  const row: SubmissionListRow = {
    pipeline: r.pipeline,
    key: r.key,
    reference: formReference(r.key),
    state: r.state,
    attempts: readInt(r.attempts),
    legacyRef: r.legacy_ref ?? null,
    createdAt: readDateStrict(r.created_at),
    updatedAt: readDateStrict(r.updated_at),
    error: toProblem(r.last_error),
  };
  if (q) row.matchedBy = matchedBy(r, q);
  return row;
}

/**
 * A page of submissions, newest change first (ties by ledger id, newest
 * first), with every filter of `search` applied; `next` is the cursor of
 * the following page, absent on the last. Reads only index ranges:
 * without `q`, one ordered read per state merged (each stops after a
 * page); with `q`, the rows whose lower-case key, form reference or legacy
 * reference equals `q` in lower case or, when `q` has `PREFIX_MIN_LENGTH`
 * characters or more, starts with it, sorted. Before matching starts, it
 * counts the references starting with `q` (up to `PREFIX_MATCH_MAX` + 1 in
 * each index, no table read); over `PREFIX_MATCH_MAX` in all, only whole
 * references match, so no search sorts more than that many rows. `prefix`
 * says which way `q` was matched.
 * Throws `SEARCH_FILTER_INVALID` for a limit out of range, an unknown state
 * or an invalid date, and `SEARCH_CURSOR_INVALID` for a cursor it did not
 * hand out.
 */
export async function searchSubmissions(store: StateStore, search: SubmissionSearch): Promise<SubmissionPage> {
  const { states, from, to } = checkSearch(search);
  const cursor = search.after === undefined ? undefined : decodeCursor(search.after);
  const q = search.q?.trim() || undefined;
  const p = new Params();
  const pg = store.dialect === 'postgres';
  const conds: string[] = [];
  if (search.pipeline !== undefined) conds.push(`pipeline = ${p.add(search.pipeline)}`);
  if (from !== undefined) conds.push(`updated_at >= ${p.add(from)}${pg ? '::timestamptz' : ''}`);
  if (to !== undefined) conds.push(`updated_at < ${p.add(to)}${pg ? '::timestamptz' : ''}`);
  if (cursor) conds.push(pg ? `(updated_at, id) < (${p.add(cursor.at)}::timestamptz, ${p.add(cursor.id)}::bigint)` : `(updated_at, id) < (${p.add(cursor.at)}, ${p.add(cursor.id)})`);
  const take = search.limit + 1;
  let sql: string;
  let prefix: PrefixMatching | undefined;
  if (q) {
    prefix = [...q].length < PREFIX_MIN_LENGTH ? 'too-short' : (await prefixMatches(store, q)) > PREFIX_MATCH_MAX ? 'too-many' : 'on';
    const lo = p.add(q);
    const low = pg ? `(lower(${lo}::text) COLLATE "C")` : `lower(${lo})`;
    let match = (expr: string) => `${lowerSql(store.dialect, expr)} = ${low}`;
    if (prefix === 'on') {
      const top = p.add(TOP_CHAR);
      const high = pg ? `((lower(${lo}::text) || ${top}::text) COLLATE "C")` : `(lower(${lo}) || ${top})`;
      match = (expr: string) => `(${lowerSql(store.dialect, expr)} >= ${low} AND ${lowerSql(store.dialect, expr)} < ${high})`;
    }
    conds.push(`(${match('key')} OR ${match(FORM_REFERENCE_SQL)} OR ${match('legacy_ref')})`);
    if (states.length < LEDGER_STATES.length) conds.push(`state IN (${states.map((s) => `'${s}'`).join(', ')})`);
    sql = `SELECT ${COLUMNS} FROM ledger WHERE ${conds.join(' AND ')} ${ORDER} LIMIT ${take}`;
  } else {
    const where = conds.length ? ` AND ${conds.join(' AND ')}` : '';
    // States come from LEDGER_STATES (checked above), so they are written in as literals.
    const arms = states.map((s) => `SELECT * FROM (SELECT ${COLUMNS} FROM ledger WHERE state = '${s}'${where} ${ORDER} LIMIT ${take}) s_${s}`);
    sql = arms.length === 1 ? arms[0]! : `${arms.join(' UNION ALL ')} ${ORDER} LIMIT ${take}`;
  }
  const raw = await store.select<Raw>(sql, p.values);
  const page = raw.slice(0, search.limit);
  const rows = page.map((r) => toRow(r, q));
  const last = page[page.length - 1];
  const out: SubmissionPage = raw.length > search.limit && last ? { rows, next: encodeCursor(readDateStrict(last.updated_at), readInt(last.id)) } : { rows };
  if (prefix) out.prefix = prefix;
  return out;
}

/**
 * How many references start with `q` (any case), counting a submission
 * once for each of its key, form reference and legacy reference that does,
 * and counting at most `PREFIX_MATCH_MAX` + 1 in each lower-case index.
 */
async function prefixMatches(store: StateStore, q: string): Promise<number> {
  const pg = store.dialect === 'postgres';
  const low = pg ? `(lower($1::text) COLLATE "C")` : `lower($1)`;
  const high = pg ? `((lower($1::text) || $2::text) COLLATE "C")` : `(lower($1) || $2)`;
  const arm = (expr: string) => `SELECT COUNT(*) AS n FROM (SELECT 1 FROM ledger WHERE ${lowerSql(store.dialect, expr)} >= ${low} AND ${lowerSql(store.dialect, expr)} < ${high} LIMIT ${PREFIX_MATCH_MAX + 1}) m`;
  const rows = await store.select<{ n: number | string }>([arm('key'), arm(FORM_REFERENCE_SQL), arm('legacy_ref')].join(' UNION ALL '), [q, TOP_CHAR]);
  return rows.reduce((sum, r) => sum + readInt(r.n), 0);
}

/**
 * Dead letters and rejections, newest first, for the console's list:
 * `searchSubmissions` with `states` set to `dead` and `rejected` (and
 * `failed` with `failed: true`, those still waiting to retry).
 */
export function searchProblems(store: StateStore, search: Omit<SubmissionSearch, 'states'> & { failed?: boolean }): Promise<SubmissionPage> {
  const { failed, ...rest } = search;
  return searchSubmissions(store, { ...rest, states: ['dead', 'rejected', ...(failed ? ['failed' as const] : [])] });
}

/** Row counts by state, per pipeline: see `./counts.ts`. */
export { countsByState } from './counts.js';
