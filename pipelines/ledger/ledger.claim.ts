/** Leasing due submissions to one runner, and giving leases back. */
import type { BodyCodec } from '../privacy/bodies.js';
import { BODY_JOIN, BODY_TEXT, bodyPipeline } from '../privacy/case-bodies.js';
import { inList, iso, listParam, readInt } from '../store/sql.js';
import type { StateStore } from '../store/state-store.js';
import type { ClaimedSubmission, Corrections, LedgerState } from './ledger.types.js';

/**
 * Due rows, in the column order of the partial index `ledger_claim_order`
 * (the state list must match the index's, literally, for both planners to
 * use it): new and mapped rows, failed rows whose retry time has come, and
 * delivering rows whose runner went away. Parameters: $1 pipeline, $2 now.
 */
const DUE = `pipeline = $1 AND state IN ('received', 'mapped', 'failed', 'delivering')
  AND (lease_until IS NULL OR lease_until <= $2)
  AND (state <> 'failed' OR next_attempt_at IS NULL OR next_attempt_at <= $2)`;

/**
 * Rows leased to `$2` in pipeline `$1`. A leased row is always in a due
 * state (every move out of them clears the lease), so the state list lets
 * both planners find leases through `ledger_claim_order`.
 */
const LEASED = `pipeline = $1 AND state IN ('received', 'mapped', 'failed', 'delivering') AND lease_owner = $2`;

type Raw = {
  id: number | string;
  key: string;
  content_hash: string;
  body: string | Uint8Array | null;
  body_of: number | string | null;
  kid: string | null;
  dek: string | null;
  corrections: string | null;
  state: string;
  attempts: number | string;
};

function claimed(bodies: BodyCodec, pipeline: string): (r: Raw) => ClaimedSubmission {
  return (r) => {
    const state = r.state as LedgerState;
    const body = r.body === null ? null : JSON.parse(bodies.open(bodyPipeline(pipeline, r.body_of), 'body', r.key, { body: r.body, kid: r.kid, dek: r.dek }));
    const out: ClaimedSubmission = { key: r.key, contentHash: r.content_hash, body, state, attempts: readInt(r.attempts), uncertain: state === 'delivering' };
    if (r.corrections) out.corrections = JSON.parse(bodies.open(pipeline, 'corrections', r.key, { body: r.corrections, kid: r.kid, dek: r.dek })) as Corrections;
    return out;
  };
}

function byArrival(a: Raw, b: Raw): number {
  return readInt(a.id) - readInt(b.id);
}

/**
 * Leases up to `limit` due submissions of `pipeline` to `owner` until
 * `now + leaseMs`, in the order they arrived (by ledger id: `receive`
 * hands ids out in the order a batch's records were read). A row that was
 * `delivering` when its lease ran out comes back with `uncertain: true`
 * (the earlier delivery may have reached the target). Two runners never lease the same row: SQLite write
 * transactions are exclusive; PostgreSQL uses `FOR UPDATE SKIP LOCKED`.
 * On PostgreSQL sorting is switched off for the claim's transaction, so
 * the planner walks `ledger_claim_order` in order and stops after `limit`
 * rows even when its statistics are stale (fresh tables under a big first
 * load), instead of sorting every due row on each claim. Bodies are
 * opened by `bodies`: a body that does not open throws `DATA_KEY_UNKNOWN`
 * or `DATA_DECRYPT_FAILED` (on PostgreSQL the leases taken then run out).
 * An operator's corrections (`Ledger.correct`) come opened beside the body.
 */
export async function claimDue(store: StateStore, bodies: BodyCodec, pipeline: string, owner: string, limit: number, leaseMs: number, now: Date): Promise<ClaimedSubmission[]> {
  const n = Math.floor(limit);
  if (!(n > 0)) return [];
  const until = iso(new Date(now.getTime() + leaseMs));
  const cols = [...['id', 'key', 'content_hash', 'state', 'attempts'].map((c) => `l.${c}`), `${BODY_TEXT} AS body`, ...['body_of', 'kid', 'dek', 'corrections'].map((c) => `b.${c}`)].join(', ');
  if (store.dialect === 'postgres') {
    const rows = await store.transaction(async (t) => {
      await store.exec('SET LOCAL enable_sort = off', [], t);
      return store.select<Raw>(
        `WITH due AS (SELECT id, pipeline, key FROM ledger WHERE ${DUE} ORDER BY id LIMIT ${n} FOR UPDATE SKIP LOCKED)
         UPDATE ledger AS l SET lease_owner = $3, lease_until = $4 FROM due LEFT JOIN ledger_bodies b ON b.id = due.id LEFT JOIN ledger_bodies sb ON sb.id = b.body_of
         WHERE l.pipeline = due.pipeline AND l.key = due.key
         RETURNING ${cols}`,
        [pipeline, iso(now), owner, until],
        t,
      );
    });
    return rows.sort(byArrival).map(claimed(bodies, pipeline));
  }
  return store.transaction(async (t) => {
    const rows = await store.select<Raw>(`SELECT ${cols} FROM ledger l ${BODY_JOIN} WHERE ${DUE} ORDER BY l.id LIMIT ${n}`, [pipeline, iso(now)], t);
    if (rows.length) {
      await store.exec(
        `UPDATE ledger SET lease_owner = $1, lease_until = $2 WHERE pipeline = $3 AND ${inList(store, 'key', 4)}`,
        [owner, until, pipeline, listParam(store, rows.map((r) => r.key))],
        t,
      );
    }
    return rows.map(claimed(bodies, pipeline));
  });
}

const RELEASE = `UPDATE ledger SET lease_owner = NULL, lease_until = NULL WHERE ${LEASED}`;

/**
 * Clears every lease `owner` holds in `pipeline` (graceful shutdown, or a
 * runner known dead) and resolves to how many rows it released. Rows keep
 * their state and are due again at once.
 */
export async function releaseLeases(store: StateStore, pipeline: string, owner: string): Promise<number> {
  if (store.dialect === 'postgres') return (await store.select(`${RELEASE} RETURNING key`, [pipeline, owner])).length;
  return store.transaction(async (t) => {
    const [row] = await store.select<{ n: number }>(`SELECT COUNT(*) AS n FROM ledger WHERE ${LEASED}`, [pipeline, owner], t);
    await store.exec(RELEASE, [pipeline, owner], t);
    return Number(row?.n ?? 0);
  });
}

/** Distinct owners of leases (current or expired) in `pipeline`. */
export async function leaseOwners(store: StateStore, pipeline: string): Promise<string[]> {
  const rows = await store.select<{ lease_owner: string }>(
    `SELECT DISTINCT lease_owner FROM ledger WHERE pipeline = $1 AND state IN ('received', 'mapped', 'failed', 'delivering') AND lease_owner IS NOT NULL`,
    [pipeline],
  );
  return rows.map((r) => r.lease_owner).sort();
}

/**
 * Extends every lease `owner` holds in `pipeline` to `now + leaseMs` (the
 * heartbeat of a runner that is alive and still working on them) and
 * resolves to how many rows it extended. A lease another runner has taken
 * over is not `owner`'s any more and is left alone.
 *
 * On PostgreSQL a row that another transaction holds locked is skipped
 * (`SKIP LOCKED`), never waited for: it is being moved on right now, most
 * often by the same runner recording its outcome, which locks its rows in
 * its batch's order while a heartbeat would lock them in the table's. When
 * the heartbeat waited, the two could deadlock and PostgreSQL aborted the
 * recording, which stopped the run. A row still leased afterwards is
 * extended by the next heartbeat, well before its lease runs out.
 */
export async function renewLeases(store: StateStore, pipeline: string, owner: string, leaseMs: number, now: Date): Promise<number> {
  const until = iso(new Date(now.getTime() + leaseMs));
  if (store.dialect === 'postgres') {
    const sql = `WITH mine AS (SELECT pipeline, key FROM ledger WHERE ${LEASED} FOR UPDATE SKIP LOCKED)
      UPDATE ledger AS l SET lease_until = $3 FROM mine WHERE l.pipeline = mine.pipeline AND l.key = mine.key RETURNING l.key`;
    return (await store.select(sql, [pipeline, owner, until])).length;
  }
  const sql = `UPDATE ledger SET lease_until = $3 WHERE ${LEASED}`;
  return store.transaction(async (t) => {
    const [row] = await store.select<{ n: number }>(`SELECT COUNT(*) AS n FROM ledger WHERE ${LEASED}`, [pipeline, owner], t);
    await store.exec(sql, [pipeline, owner, until], t);
    return Number(row?.n ?? 0);
  });
}
