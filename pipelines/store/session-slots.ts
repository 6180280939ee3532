/**
 * A target's limit of concurrent sessions held across every runner that
 * shares a PostgreSQL state store. Slot `i` of a lane is the session-level
 * advisory lock `(hashtext('<schema>.sessions.<lane>'), i)`, taken with
 * `pg_try_advisory_lock` on a connection of the pass's own, outside the
 * state store's pool, and given back with `pg_advisory_unlock`. A runner
 * that dies (kill -9, a lost network) loses its connection and PostgreSQL
 * frees its slots at once; nothing waits for a lease to run out.
 *
 * Advisory locks are re-entrant within one session, so the slots this
 * process holds are also kept in memory and never tried again until given
 * back. Waiting is polling with backoff (20 ms doubling to 250 ms): a slot
 * given back is taken by whichever runner asks next, not in order.
 */
import pg from 'pg';
import type { SessionSlots } from '../../connectors/connector.types.js';
import type { StateStore } from './state-store.js';

/** Session slots of one lane, with the connection that holds them; `close` ends the connection (freeing any slot still held). */
export interface ClosableSessionSlots extends SessionSlots {
  close(): Promise<void>;
}

const FIRST_WAIT_MS = 20;
const MOST_WAIT_MS = 250;

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * `size` slots of `lane` on `store` (PostgreSQL only). The connection is
 * opened on the first `take`, with the store's own credentials; when it
 * breaks, the slots it held are gone with it (their releases do nothing)
 * and the next `take` opens another.
 */
export function clusterSessionSlots(store: StateStore, lane: string, size: number): ClosableSessionSlots {
  if (store.dialect !== 'postgres') throw new Error('cluster session slots need a PostgreSQL state store');
  const held = new Set<number>();
  let client: pg.Client | undefined;
  let opening: Promise<pg.Client> | undefined;
  let key: string | undefined;
  let closed = false;
  const connect = (): Promise<pg.Client> => {
    if (client) return Promise.resolve(client);
    opening ??= (async () => {
      try {
        key ??= `${(await store.select<{ s: string }>('SELECT current_schema() AS s'))[0]!.s}.sessions.${lane}`;
        const c = store.sequelize.config;
        const fresh = new pg.Client({ host: c.host, port: Number(c.port), user: c.username, password: c.password ?? undefined, database: c.database, application_name: 'rekey session slots' });
        fresh.on('error', () => {
          if (client === fresh) client = undefined;
          held.clear();
        });
        await fresh.connect();
        client = fresh;
        return fresh;
      } finally {
        opening = undefined;
      }
    })();
    return opening;
  };
  const tryOne = async (c: pg.Client, slot: number): Promise<boolean> => {
    const r = await c.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtext($1), $2) AS ok', [key, slot]);
    return r.rows[0]?.ok === true;
  };
  return {
    async take(signal: AbortSignal) {
      for (let wait = FIRST_WAIT_MS; !signal.aborted && !closed; wait = Math.min(MOST_WAIT_MS, wait * 2)) {
        const c = await connect().catch(() => undefined);
        if (c) {
          for (let slot = 0; slot < size; slot++) {
            if (held.has(slot)) continue;
            // Marked before asking: another take of this process must not ask for it meanwhile (the lock is re-entrant).
            held.add(slot);
            const ok = await tryOne(c, slot).catch(() => false);
            if (!ok) {
              held.delete(slot);
              continue;
            }
            let given = false;
            return async () => {
              if (given) return;
              given = true;
              if (client === c) await c.query('SELECT pg_advisory_unlock(hashtext($1), $2)', [key, slot]).catch(() => undefined);
              held.delete(slot);
            };
          }
        }
        await pause(wait, signal);
      }
      return undefined;
    },
    async close() {
      closed = true;
      const c = client ?? (await opening?.catch(() => undefined));
      client = undefined;
      held.clear();
      await c?.end().catch(() => undefined);
    },
  };
}
