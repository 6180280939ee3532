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
 *
 * The connection is made as the store's own pooled ones are (the same
 * credentials, TLS, session options and search path). When it cannot be
 * made for `giveUpMs` (30 s by default), `take` fails with
 * `STORE_UNAVAILABLE` rather than wait for ever.
 */
import pg from 'pg';
import type { SessionSlots } from '../../connectors/connector.types.js';
import { PipelineCodes, PipelineError } from '../pipeline.errors.js';
import type { StateStore } from './state-store.js';

/** Session slots of one lane, with the connection that holds them; `close` ends the connection (freeing any slot still held). */
export interface ClosableSessionSlots extends SessionSlots {
  close(): Promise<void>;
}

const FIRST_WAIT_MS = 20;
const MOST_WAIT_MS = 250;
const GIVE_UP_MS = 30_000;
const CONNECT_TIMEOUT_MS = 10_000;

/** What Sequelize's PostgreSQL dialect passes from `dialectOptions` to each pooled connection; the slots' connection takes the same. */
const PASSED_OPTIONS = ['ssl', 'client_encoding', 'binary', 'keepAlive', 'statement_timeout', 'query_timeout', 'connectionTimeoutMillis', 'idle_in_transaction_session_timeout', 'lock_timeout', 'options', 'stream'] as const;

/** The `pg.Client` settings of the slots' connection: the store's credentials, TLS and session options, under a name of its own. */
export function sessionSlotsClientConfig(store: StateStore): pg.ClientConfig {
  const c = store.sequelize.config as typeof store.sequelize.config & { dialectOptions?: Record<string, unknown> };
  const passed: Record<string, unknown> = {};
  for (const k of PASSED_OPTIONS) if (c.dialectOptions?.[k] !== undefined) passed[k] = c.dialectOptions[k];
  return {
    host: c.host,
    port: Number(c.port),
    user: c.username,
    password: c.password ?? undefined,
    database: c.database,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    ...passed,
    application_name: 'rekey session slots',
  };
}

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
 * opened on the first `take`, as the store's own are; when it breaks, the
 * slots it held are gone with it (their releases do nothing) and the next
 * `take` opens another. A `take` that cannot connect for `giveUpMs` in a
 * row throws `STORE_UNAVAILABLE`.
 */
export function clusterSessionSlots(store: StateStore, lane: string, size: number, opts: { giveUpMs?: number } = {}): ClosableSessionSlots {
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
        const fresh = new pg.Client(sessionSlotsClientConfig(store));
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
      let failingSince: number | undefined;
      for (let wait = FIRST_WAIT_MS; !signal.aborted && !closed; wait = Math.min(MOST_WAIT_MS, wait * 2)) {
        let c: pg.Client | undefined;
        try {
          c = await connect();
          failingSince = undefined;
        } catch (e) {
          failingSince ??= Date.now();
          if (Date.now() - failingSince >= (opts.giveUpMs ?? GIVE_UP_MS)) {
            throw new PipelineError(PipelineCodes.STORE_UNAVAILABLE, `cannot reach the state store ${store.location} to take a session slot of ${lane}: ${(e as Error).message}`);
          }
        }
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
