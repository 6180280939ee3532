/**
 * A pipeline's `limits.ratePerSecond` held across every runner that shares
 * a PostgreSQL state store. The lane's row in `rate_pacing` holds when the
 * rate is next free (milliseconds since the epoch, on the database's
 * clock). Each `take(n)` is one upsert that moves it on by n/rate seconds
 * from itself or from now, whichever is later, and answers how long to
 * wait before the reserved span begins. PostgreSQL's row lock on the
 * upsert orders the runners' reservations, and the database's clock is
 * the only one used, so clock skew between runners does not matter. This
 * is the pacing of the in-memory `Pacer` (no burst allowance: a batch of n
 * records reserves n/rate seconds), with the reservation in one row.
 *
 * A runner that dies after reserving only leaves its span unused: the rate
 * is never exceeded, only briefly under-used.
 */
import { setTimeout as wait } from 'node:timers/promises';
import type { StateStore } from './state-store.js';

/** A rate shared by every runner on the store: `take(n)` resolves when n units may be used (early, without throwing, when `signal` aborts). */
export interface ClusterPace {
  take(n: number, signal?: AbortSignal): Promise<void>;
}

const NOW_MS = 'extract(epoch FROM clock_timestamp())::float8 * 1000';

const RESERVE = `INSERT INTO rate_pacing AS r (lane, next_free_ms) VALUES ($1, ${NOW_MS} + $2::float8)
  ON CONFLICT (lane) DO UPDATE SET next_free_ms = GREATEST(r.next_free_ms, ${NOW_MS}) + $2::float8
  RETURNING r.next_free_ms - $2::float8 - ${NOW_MS} AS wait_ms`;

/** `perSecond` units per second for `lane` on `store` (PostgreSQL only), shared with every runner on it. */
export function clusterPace(store: StateStore, lane: string, perSecond: number): ClusterPace {
  if (store.dialect !== 'postgres') throw new Error('a cluster-wide rate needs a PostgreSQL state store');
  if (!(perSecond > 0)) throw new Error(`rate must be above 0, got ${perSecond}`);
  return {
    async take(n, signal) {
      const [row] = await store.select<{ wait_ms: number | string }>(RESERVE, [lane, (n / perSecond) * 1000]);
      const ms = Number(row?.wait_ms ?? 0);
      if (ms > 0 && !signal?.aborted) await wait(ms, undefined, { signal }).catch(() => undefined);
    },
  };
}
