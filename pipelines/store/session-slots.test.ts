import { randomBytes } from 'node:crypto';
import { Sequelize } from 'sequelize';
import { describe, expect, it } from 'vitest';
import { openStateStore } from './state-store.js';
import { openTestStore, PG_URL, pgSkipReason } from './store.test-helpers.js';
import { clusterSessionSlots, sessionSlotsClientConfig } from './session-slots.js';

const NEVER = new AbortController().signal;

describe.skipIf(Boolean(pgSkipReason))('cluster session slots on PostgreSQL', () => {
  it('never hands out more than `size` slots across three stores with two takers each, and frees a closed connection\'s slots', async () => {
    const open = await openTestStore('postgres');
    const others = await Promise.all([openStateStore(open.url), openStateStore(open.url)]);
    const sets = [open.store, ...others].map((s) => clusterSessionSlots(s, 'p', 2));
    try {
      let now = 0;
      let peak = 0;
      const taker = async (set: (typeof sets)[number]) => {
        for (let i = 0; i < 4; i++) {
          const release = await set.take(NEVER);
          expect(release).toBeDefined();
          now++;
          peak = Math.max(peak, now);
          await new Promise((r) => setTimeout(r, 10));
          now--;
          await release!();
        }
      };
      await Promise.all(sets.flatMap((s) => [taker(s), taker(s)]));
      expect(peak).toBe(2);

      await sets[0]!.take(NEVER);
      await sets[0]!.take(NEVER);
      const waiting = new AbortController();
      const blocked = sets[1]!.take(waiting.signal);
      await sets[0]!.close();
      expect(await blocked).toBeDefined();
      waiting.abort();
      const none = new AbortController();
      none.abort();
      expect(await sets[2]!.take(none.signal)).toBeUndefined();
    } finally {
      for (const s of sets) await s.close();
      for (const s of others) await s.close();
      await open.dispose();
    }
  });

  it("connects as the store's own connections do: its search path and session options", async () => {
    const open = await openTestStore('postgres');
    const store = await openStateStore(`${open.url}&options=${encodeURIComponent('-c lock_timeout=4321')}`);
    const slots = clusterSessionSlots(store, 'p', 1);
    try {
      const config = sessionSlotsClientConfig(store);
      const schema = new URL(open.url).searchParams.get('schema')!;
      expect(config.options).toContain(`-c search_path=${schema}`);
      expect(config.options).toContain('-c lock_timeout=4321');
      expect(config.application_name).toBe('rekey session slots');
      const release = await slots.take(NEVER);
      expect(release).toBeDefined();
      const seen = await store.select<{ n: string }>("SELECT count(*) AS n FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE l.locktype = 'advisory' AND a.application_name = 'rekey session slots' AND a.datname = current_database()");
      expect(Number(seen[0]!.n)).toBeGreaterThanOrEqual(1);
      await release!();
    } finally {
      await slots.close();
      await store.close();
      await open.dispose();
    }
  });

  it('fails with STORE_UNAVAILABLE when no connection for the slots can be made, instead of waiting for ever', async () => {
    const role = `rekey_slots_${randomBytes(4).toString('hex')}`;
    const schema = `rekey_test_${randomBytes(6).toString('hex')}`;
    const admin = new Sequelize(PG_URL, { logging: false });
    await admin.query(`CREATE ROLE ${role} LOGIN`);
    await admin.query(`GRANT CREATE ON DATABASE ${new URL(PG_URL).pathname.slice(1)} TO ${role}`);
    const url = new URL(PG_URL);
    url.username = role;
    url.searchParams.set('schema', schema);
    const store = await openStateStore(url.href);
    const slots = clusterSessionSlots(store, 'p', 2, { giveUpMs: 300 });
    try {
      // The store is open; from now on the role may not open another connection.
      await admin.query(`ALTER ROLE ${role} CONNECTION LIMIT 0`);
      const taken = slots.take(NEVER);
      await expect(taken).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE', disposition: 'fatal' });
      await expect(taken).rejects.toThrow(/^cannot reach the state store postgres:\/\/.+ to take a session slot of p: /);
    } finally {
      await slots.close();
      await store.close();
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await admin.query(`DROP OWNED BY ${role}`);
      await admin.query(`DROP ROLE ${role}`);
      await admin.close();
    }
  });
});
