import { describe, expect, it } from 'vitest';
import { openStateStore } from './state-store.js';
import { openTestStore, pgSkipReason } from './store.test-helpers.js';
import { clusterSessionSlots } from './session-slots.js';

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
});
