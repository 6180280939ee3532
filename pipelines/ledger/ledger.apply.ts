/**
 * Writing planned moves: read the rows, plan, write back in one statement,
 * audit; all in one transaction. What is read is what is written over: the
 * SQLite write transaction is exclusive from its start; on PostgreSQL the
 * rows are read `FOR UPDATE`, in key order.
 */
import type { AuditLog } from '../audit/audit-log.js';
import { iso, listParam, readBool, readDate, readInt } from '../store/sql.js';
import type { StateStore, StoreTx } from '../store/state-store.js';
import { planMoves, type MutableRow, type PlanContext } from './ledger.plan.js';
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
 * are arrays, each parsed once into JSONB, in MATERIALIZED CTEs, so the
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
  const columns = ['key', ...MUTABLE] as const;
  const pick = columns.map((c, i) => `b ->> ${i} AS ${c}`).join(', ');
  const arrays = JSON.stringify(rows.map((r) => columns.map((c) => r[c])));
  await store.exec(
    `WITH j AS MATERIALIZED (SELECT jsonb(value) AS b FROM json_each($2)), v AS MATERIALIZED (SELECT ${pick} FROM j)
     UPDATE ledger SET ${set} FROM v WHERE ledger.pipeline = $1 AND ledger.key = v.key`,
    [pipeline, arrays],
    t,
  );
}

/**
 * Checks and applies `transitions` in one transaction: reads the rows (locked
 * on PostgreSQL), plans the moves, writes them back and appends the audit
 * entries. Resolves after COMMIT. Throws what `planMoves` throws, with
 * nothing written. With `owner` (a runner's moves on rows it leased), the
 * moves of rows whose lease another runner took over, or that were
 * released, are left out (fencing): resolves to those keys, sorted.
 */
export async function applyMoves(
  store: StateStore,
  audit: AuditLog,
  transitions: readonly Transition[],
  ctx: Omit<PlanContext, 'now'>,
  owner?: string,
): Promise<string[]> {
  if (!transitions.length) return [];
  return store.transaction(async (t) => {
    const current = await readCurrent(store, ctx.pipeline, [...new Set(transitions.map((x) => x.key))], t);
    const lost = owner === undefined ? [] : [...current.values()].filter((r) => r.lease_owner !== owner).map((r) => r.key);
    const gone = new Set(lost);
    const { rows, entries } = planMoves(
      current,
      gone.size ? transitions.filter((x) => !gone.has(x.key)) : transitions,
      { ...ctx, now: new Date() },
    );
    await writeRows(store, ctx.pipeline, rows, t);
    await audit.append(entries, { transaction: t });
    return lost.sort();
  });
}
