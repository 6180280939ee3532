import { afterEach, describe, expect, it } from 'vitest';
import { openStateStore, type StateStore } from './state-store.js';
import { openTestStore, pgSkipReason, type TestStore } from './store.test-helpers.js';
import { clusterPace } from './rate-pacing.js';

let open: TestStore | undefined;
const others: StateStore[] = [];
afterEach(async () => {
  for (const s of others.splice(0)) await s.close();
  await open?.dispose();
  open = undefined;
});

const dbNow = async (s: StateStore) => Number((await s.select<{ ms: number | string }>('SELECT extract(epoch FROM clock_timestamp())::float8 * 1000 AS ms'))[0]!.ms);

describe.skipIf(Boolean(pgSkipReason))('cluster rate pacing on PostgreSQL', () => {
  it('reserves every take of three stores in one row: the rate is next free after all of them, one after another', async () => {
    open = await openTestStore('postgres');
    others.push(await openStateStore(open.url), await openStateStore(open.url));
    const paces = [open.store, ...others].map((s) => clusterPace(s, 'p', 10));
    // Already aborted: each take reserves its share and answers without waiting for it.
    const stopped = new AbortController();
    stopped.abort();
    const before = await dbNow(open.store);
    await Promise.all(paces.flatMap((p) => Array.from({ length: 5 }, () => p.take(2, stopped.signal))));
    const after = await dbNow(open.store);
    const [row] = await open.store.select<{ lane: string; next_free_ms: number | string }>('SELECT lane, next_free_ms FROM rate_pacing');
    // 3 stores x 5 takes x 2 units at 10 a second: 3 s reserved back to back from the first take on.
    const next = Number(row!.next_free_ms);
    expect(row!.lane).toBe('p');
    expect(next).toBeGreaterThanOrEqual(before + 3000);
    expect(next).toBeLessThanOrEqual(after + 3000);
    // Another lane has a rate of its own.
    await clusterPace(others[0]!, 'q', 10).take(1, stopped.signal);
    expect((await open.store.select<{ lane: string }>('SELECT lane FROM rate_pacing ORDER BY lane')).map((r) => r.lane)).toEqual(['p', 'q']);
  });

  it('refuses a SQLite state store', async () => {
    open = await openTestStore('sqlite');
    expect(() => clusterPace(open!.store, 'p', 10)).toThrow('a cluster-wide rate needs a PostgreSQL state store');
  });
});
