/**
 * Cases a route that waits for others (`after:`, docs/routes.md) may now be
 * told of: every route it waits for that holds the key holds it delivered,
 * and the waiting route does not hold it yet.
 */
import { inList, iso, listParam, readDateStrict } from '../store/sql.js';
import type { StateStore } from '../store/state-store.js';

/** A case ready for a waiting route: its key, a lane to read its body from, and when its last awaited delivery was recorded. */
export interface ReadyCase {
  key: string;
  lane: string;
  at: Date;
}

/**
 * Up to `limit` keys delivered in `lanes` since `since` (a row recorded
 * delivered at or after it), whose every row in `lanes` is delivered, and
 * that `waiting` does not hold; oldest delivery first. Reads through the
 * `(state, updated_at)` index, so a pass looks at recent deliveries only.
 */
export async function readyCases(store: StateStore, lanes: readonly string[], waiting: string, since: Date, limit: number): Promise<ReadyCase[]> {
  if (!lanes.length) return [];
  const rows = await store.select<{ key: string; lane: string; at: unknown }>(
    `SELECT a.key AS key, MIN(a.pipeline) AS lane, MAX(a.updated_at) AS at FROM ledger a
      WHERE a.state = 'delivered' AND a.updated_at >= $1 AND ${inList(store, 'a.pipeline', 2)}
        AND NOT EXISTS (SELECT 1 FROM ledger d WHERE d.pipeline = $3 AND d.key = a.key)
        AND NOT EXISTS (SELECT 1 FROM ledger o WHERE o.key = a.key AND ${inList(store, 'o.pipeline', 2)} AND o.state <> 'delivered')
      GROUP BY a.key ORDER BY MAX(a.updated_at), a.key LIMIT ${Math.max(1, Math.floor(limit))}`,
    [store.dialect === 'sqlite' ? iso(since) : since, listParam(store, lanes), waiting],
  );
  return rows.map((r) => ({ key: r.key, lane: r.lane, at: readDateStrict(r.at) }));
}
