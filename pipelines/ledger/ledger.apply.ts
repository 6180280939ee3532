/**
 * Writing planned moves: read the rows, plan, write back in one statement,
 * audit; all in one transaction. What is read is what is written over: the
 * SQLite write transaction is exclusive from its start; on PostgreSQL the
 * rows are read `FOR UPDATE`, in key order.
 */
import type { AuditLog } from '../audit/audit-log.js';
import type { KeyRing } from '../../lib/envelope.js';
import { writeSentCopies, type SentCopy } from '../privacy/sent-copy.js';
import { legacyTextsOf, writeLegacyTexts } from '../privacy/legacy-text.js';
import { PipelineCodes, PipelineError } from '../pipeline.errors.js';
import { iso, listParam, readBool, readDate, readInt, sqliteRowSet } from '../store/sql.js';
import type { StateStore, StoreTx } from '../store/state-store.js';
import { planMoves, startRow, type MutableRow, type PlanContext } from './ledger.plan.js';
import { selectByKeys } from './ledger.rows.js';
import type { LedgerState, Transition } from './ledger.types.js';

const MUTABLE = ['state', 'attempts', 'next_attempt_at', 'last_error', 'legacy_ref', 'confirmed', 'mapping_version', 'lease_owner', 'lease_until', 'updated_at'] as const;

const PG_TYPES: Record<(typeof MUTABLE)[number] | 'key', string> = {
  key: 'text',
  state: 'text',
  attempts: 'int',
  next_attempt_at: 'timestamptz',
  last_error: 'text',
  legacy_ref: 'text',
  confirmed: 'boolean',
  mapping_version: 'text',
  lease_owner: 'text',
  lease_until: 'timestamptz',
  updated_at: 'timestamptz',
};

/** A timestamp exactly as `iso` writes it (SQLite hands back the text stored). */
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

function isoOrNull(v: unknown): string | null {
  if (typeof v === 'string' && ISO.test(v)) return v;
  const d = readDate(v);
  return d ? iso(d) : null;
}

function toMutable(r: Record<string, unknown>): MutableRow {
  return {
    key: String(r.key),
    state: r.state as LedgerState,
    attempts: readInt(r.attempts),
    next_attempt_at: isoOrNull(r.next_attempt_at),
    last_error: (r.last_error as string | null) ?? null,
    legacy_ref: (r.legacy_ref as string | null) ?? null,
    confirmed: readBool(r.confirmed),
    mapping_version: (r.mapping_version as string | null) ?? null,
    lease_owner: (r.lease_owner as string | null) ?? null,
    lease_until: isoOrNull(r.lease_until),
    updated_at: isoOrNull(r.updated_at) ?? iso(new Date()),
  };
}

/**
 * The rows of `keys`, locked on PostgreSQL. On SQLite they come back as one
 * JSON text (the driver builds row objects slowly, field by field).
 */
export async function readCurrent(store: StateStore, pipeline: string, keys: string[], t: StoreTx): Promise<Map<string, MutableRow>> {
  const columns = ['key', ...MUTABLE];
  const sorted = listParam(store, [...keys].sort());
  let rows: Record<string, unknown>[];
  if (store.dialect === 'sqlite') {
    const json = `json_group_array(json_object(${columns.map((c) => `'${c}', l.${c}`).join(', ')}))`;
    const [one] = await store.select<{ rows: string }>(selectByKeys(store, `${json} AS rows`), [pipeline, sorted], t);
    rows = JSON.parse(one?.rows ?? '[]') as Record<string, unknown>[];
  } else {
    rows = await store.select<Record<string, unknown>>(selectByKeys(store, columns.map((c) => `l.${c}`).join(', '), { lock: true }), [pipeline, sorted], t);
  }
  return new Map(rows.map((r) => [String(r.key), toMutable(r)]));
}

/**
 * Writes every row's mutable columns with one UPDATE ... FROM a JSON
 * parameter (no per-row statements, no parameter limit). On SQLite the rows
 * come from `sqliteRowSet`, in MATERIALIZED CTEs, so the
 * planner drives the join from them and looks each row up by primary key,
 * rather than scanning the pipeline's rows.
 */
export async function writeRows(store: StateStore, pipeline: string, rows: MutableRow[], t: StoreTx): Promise<void> {
  if (!rows.length) return;
  const set = MUTABLE.map((c) => `${c} = v.${c}`).join(', ');
  if (store.dialect === 'postgres') {
    const json = JSON.stringify(rows);
    const cols = (['key', ...MUTABLE] as const).map((c) => `${c} ${PG_TYPES[c]}`).join(', ');
    await store.exec(
      `UPDATE ledger AS l SET ${set} FROM jsonb_to_recordset($2::jsonb) AS v(${cols}) WHERE l.pipeline = $1 AND l.key = v.key`,
      [pipeline, json],
      t,
    );
    return;
  }
  const v = rowsAsV(rows, ['key', ...MUTABLE], 2);
  await store.exec(`WITH ${v.ctes} UPDATE ledger SET ${set} FROM v WHERE ledger.pipeline = $1 AND ledger.key = v.key`, [pipeline, ...v.params], t);
}

/** SQLite: `rows` as CTE `v` with `columns` (from `sqliteRowSet`'s `j`), its parameters numbered from `first`. */
function rowsAsV(rows: readonly MutableRow[], columns: readonly (keyof MutableRow)[], first: number): { ctes: string; params: unknown[] } {
  const src = sqliteRowSet(rows.map((r) => columns.map((c) => r[c])), first);
  return { ctes: `${src.cte}, v AS MATERIALIZED (SELECT ${src.pick.map((e, i) => `${e} AS ${columns[i]}`).join(', ')} FROM j)`, params: src.params };
}

/** Moves whose new column values do not depend on the stored row (beyond its state and lease), so a runner can write them blind. */
const BLIND: ReadonlySet<LedgerState> = new Set(['delivered', 'rejected', 'dead']);

/** Thrown inside the blind transaction to roll it back when a row was not as expected. */
class NotAsExpected extends Error {}

/**
 * The runner's outcomes on rows it leased in `delivering`, on SQLite: the
 * moves are planned against the state they should be in, then written with
 * one UPDATE that only touches rows still in `delivering` and leased to
 * `owner`, and the audit entries indexed by the ids it returns. No row is
 * read first. If any row was not as expected (lease taken over, state
 * moved), throws `NotAsExpected` so the transaction rolls back and the
 * caller takes the reading path.
 */
async function applyBlind(store: StateStore, audit: AuditLog, keys: KeyRing | undefined, transitions: readonly Transition[], ctx: Omit<PlanContext, 'now'>, owner: string, t: StoreTx): Promise<string[]> {
  const now = new Date();
  const at = iso(now);
  const expected = new Map<string, MutableRow>(transitions.map((tr) => [tr.key, startRow(tr.key, 'delivering', owner, null, at)]));
  const { rows, entries } = planMoves(expected, transitions, { ...ctx, now });
  const v = rowsAsV(rows, BLIND_VALUES, 3);
  const hit = await store.select<{ id: number; key: string }>(
    `WITH ${v.ctes} UPDATE ledger SET ${BLIND_SET} FROM v
     WHERE ledger.pipeline = $1 AND ledger.key = v.key AND ledger.state = 'delivering' AND ledger.lease_owner = $2
     RETURNING ledger.id AS id, ledger.key AS key`,
    [ctx.pipeline, owner, ...v.params],
    t,
  );
  if (hit.length !== rows.length) throw new NotAsExpected();
  await audit.append(entries, { transaction: t, ledgerIds: new Map(hit.map((h) => [h.key, h.id])) });
  if (keys) await writeSentCopies(store, keys, ctx.pipeline, sentCopies(transitions), t);
  if (keys) await writeLegacyTexts(store, keys, ctx.pipeline, legacyTextsOf(transitions), t);
  return [];
}

/** The record-as-sent copies of `transitions` (delivered ones that carry one), by key, leaving out `lost` keys. */
function sentCopies(transitions: readonly Transition[], lost: ReadonlySet<string> = new Set()): Map<string, SentCopy> {
  const out = new Map<string, SentCopy>();
  for (const tr of transitions) {
    if (tr.to !== 'delivered' || lost.has(tr.key)) continue;
    if (tr.sentSealed !== undefined) out.set(tr.key, { sealed: tr.sentSealed });
    else if (tr.sent !== undefined) out.set(tr.key, { text: tr.sent });
  }
  return out;
}

const BLIND_VALUES = ['key', 'state', 'last_error', 'legacy_ref', 'confirmed', 'mapping_version', 'updated_at'] as const;

/**
 * What a blind move writes, as `moveRow` would from `delivering`: one more
 * attempt counted; the lease and retry time cleared; the legacy reference and confirmation only when
 * delivered; the error cleared when delivered, else the move's (or the
 * stored one); the mapping version the move's, else the stored one.
 */
const BLIND_SET = [
  'state = v.state',
  'attempts = ledger.attempts + 1',
  'next_attempt_at = NULL',
  'lease_owner = NULL',
  'lease_until = NULL',
  'updated_at = v.updated_at',
  "last_error = CASE WHEN v.state = 'delivered' THEN NULL ELSE COALESCE(v.last_error, ledger.last_error) END",
  "legacy_ref = CASE WHEN v.state = 'delivered' THEN v.legacy_ref ELSE ledger.legacy_ref END",
  "confirmed = CASE WHEN v.state = 'delivered' THEN v.confirmed ELSE ledger.confirmed END",
  'mapping_version = COALESCE(v.mapping_version, ledger.mapping_version)',
].join(', ');

function blindable(store: StateStore, transitions: readonly Transition[], ctx: Omit<PlanContext, 'now'>, owner: string | undefined): owner is string {
  if (store.dialect !== 'sqlite' || owner === undefined || ctx.allowedFrom || ctx.needsBody) return false;
  const keys = new Set<string>();
  for (const tr of transitions) {
    if (!BLIND.has(tr.to) || keys.has(tr.key)) return false;
    keys.add(tr.key);
  }
  return true;
}

/**
 * Throws `SUBMISSION_ERASED` for the first of `keys` that was erased, else
 * `BODY_PURGED` for the first without a body (retention purged it): an
 * operator cannot `verb` them. Keys without a row are left to `planMoves`.
 * Call it once the rows are locked: a purge or an erasure locks them too
 * before it deletes a body, so the two never cross.
 */
async function refuseWithoutBody(store: StateStore, pipeline: string, keys: string[], verb: 'retry' | 'replay', t: StoreTx): Promise<void> {
  const cols = 'l.key, l.erased_at, EXISTS (SELECT 1 FROM ledger_bodies b WHERE b.id = l.id) AS has_body';
  const rows = await store.select<{ key: string; erased_at: unknown; has_body: unknown }>(selectByKeys(store, cols), [pipeline, listParam(store, [...keys].sort())], t);
  const erased = rows.find((r) => r.erased_at !== null && r.erased_at !== undefined);
  if (erased) {
    const at = readDate(erased.erased_at)?.toISOString();
    throw new PipelineError(PipelineCodes.SUBMISSION_ERASED, `cannot ${verb} ${JSON.stringify(erased.key)} of pipeline ${pipeline}: it was erased at ${at} (right to erasure)`);
  }
  const purged = rows.find((r) => !readBool(r.has_body));
  if (purged) throw new PipelineError(PipelineCodes.BODY_PURGED, `cannot ${verb} ${JSON.stringify(purged.key)} of pipeline ${pipeline}: its body was purged by the retention policy`);
}

/**
 * Checks and applies `transitions` in one transaction: reads the rows (locked
 * on PostgreSQL), plans the moves, writes them back and appends the audit
 * entries. Resolves after COMMIT. Throws what `planMoves` throws, with
 * nothing written. With `owner` (a runner's moves on rows it leased), the
 * moves of rows whose lease another runner took over, or that were
 * released, are left out (fencing): resolves to those keys, sorted.
 * With `ring`, the `sent` copy of each delivered move, and the legacy
 * system's text of each error the flow hashed (`legacyText` with its
 * `textHash`), are stored sealed under the submission's data key, in the
 * same transaction; the row and the audit entry keep only the hash.
 */
export async function applyMoves(
  store: StateStore,
  audit: AuditLog,
  transitions: readonly Transition[],
  ctx: Omit<PlanContext, 'now'>,
  owner?: string,
  ring?: KeyRing,
): Promise<string[]> {
  if (!transitions.length) return [];
  if (blindable(store, transitions, ctx, owner)) {
    try {
      return await store.transaction((t) => applyBlind(store, audit, ring, transitions, ctx, owner, t));
    } catch (e) {
      if (!(e instanceof NotAsExpected)) throw e;
    }
  }
  return store.transaction(async (t) => {
    const keys = [...new Set(transitions.map((x) => x.key))];
    const current = await readCurrent(store, ctx.pipeline, keys, t);
    if (ctx.needsBody) await refuseWithoutBody(store, ctx.pipeline, keys, ctx.needsBody, t);
    const lost = owner === undefined ? [] : [...current.values()].filter((r) => r.lease_owner !== owner).map((r) => r.key);
    const gone = new Set(lost);
    const { rows, entries } = planMoves(
      current,
      gone.size ? transitions.filter((x) => !gone.has(x.key)) : transitions,
      { ...ctx, now: new Date() },
    );
    await writeRows(store, ctx.pipeline, rows, t);
    await audit.append(entries, { transaction: t });
    if (ring) await writeSentCopies(store, ring, ctx.pipeline, sentCopies(transitions, gone), t);
    if (ring) await writeLegacyTexts(store, ring, ctx.pipeline, legacyTextsOf(transitions, gone), t);
    return lost.sort();
  });
}
