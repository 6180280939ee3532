import { afterEach, describe, expect, it } from 'vitest';
import { openStateStore } from '../../pipelines/store/state-store.js';
import { openTestStore, TEST_DIALECTS, type TestStore } from '../../pipelines/store/store.test-helpers.js';
import { scheduleTicks, TICK_KEEP_MS } from './schedule-ticks.js';

let open: TestStore | undefined;
afterEach(async () => {
  await open?.dispose();
  open = undefined;
});

describe.each(TEST_DIALECTS)('scheduleTicks on %s', (dialect) => {
  it('elects exactly one of several runners per tick, each on a connection of its own', async () => {
    open = await openTestStore(dialect);
    const others = dialect === 'postgres' ? await Promise.all([openStateStore(open.url), openStateStore(open.url)]) : [open.store, open.store];
    try {
      const coordinators = [open.store, ...others].map((s, i) => scheduleTicks(s, `runner:h:${i}`));
      const ticks = ['p:2026-12-05T14:00:00.000Z', 'p:2026-12-05T14:00:01.000Z', 'q:2026-12-05T14:00:01.000Z'];
      for (const tick of ticks) {
        const answers = await Promise.all(coordinators.map((c) => c.shouldRun(tick, 30_000)));
        expect(answers.filter(Boolean)).toHaveLength(1);
      }
      expect(await coordinators[2]!.shouldRun(ticks[0]!, 30_000)).toBe(false);
      const rows = await open.store.select<{ tick: string }>('SELECT tick FROM schedule_ticks ORDER BY tick');
      expect(rows.map((r) => r.tick)).toEqual([...ticks].sort());
    } finally {
      if (dialect === 'postgres') for (const s of others) await s.close();
    }
  });

  it('deletes rows older than a day when it next takes a tick', async () => {
    open = await openTestStore(dialect);
    let now = new Date('2026-12-05T14:00:00Z');
    const c = scheduleTicks(open.store, 'runner:h:1', () => now);
    expect(await c.shouldRun('p:old', 30_000)).toBe(true);
    now = new Date(now.getTime() + TICK_KEEP_MS + 3600_000);
    expect(await c.shouldRun('p:new', 30_000)).toBe(true);
    const rows = await open.store.select<{ tick: string }>('SELECT tick FROM schedule_ticks');
    expect(rows.map((r) => r.tick)).toEqual(['p:new']);
  });
});
