/**
 * A cron schedule fires once per tick across every runner sharing a
 * PostgreSQL state store. node-cron asks a run coordinator before each
 * scheduled run, with a key naming the task and the tick (its planned
 * time, not the moment the timer fired); this one inserts that key into
 * `schedule_ticks` with `ON CONFLICT DO NOTHING`. The primary key makes
 * PostgreSQL pick exactly one winner per tick, whatever the clocks or the
 * timers' lateness; the others skip the tick. A runner busy with a pass of
 * the pipeline does not ask (node-cron's `noOverlap`), so an idle runner
 * takes the tick. A failed insert skips the tick on that runner (node-cron
 * fails closed); the ledger keeps the work for the next pass.
 */
import type { RunCoordinator } from 'node-cron';
import { iso } from '../../pipelines/store/sql.js';
import type { StateStore } from '../../pipelines/store/state-store.js';

/** How long a taken tick's row is kept: far longer than any clock skew between runners. */
export const TICK_KEEP_MS = 24 * 3600_000;

/**
 * The run coordinator of `runner`'s schedules on `store`: `shouldRun(key)`
 * is true for exactly one caller per key. Rows older than
 * {@link TICK_KEEP_MS} are deleted at most once an hour per runner.
 */
export function scheduleTicks(store: StateStore, runner: string, clock: () => Date = () => new Date()): RunCoordinator {
  let pruned = 0;
  return {
    async shouldRun(key: string): Promise<boolean> {
      const now = clock();
      const won = await store.select<{ tick: string }>(
        'INSERT INTO schedule_ticks (tick, runner, claimed_at) VALUES ($1, $2, $3) ON CONFLICT (tick) DO NOTHING RETURNING tick',
        [key, runner, iso(now)],
      );
      if (now.getTime() - pruned >= 3600_000) {
        pruned = now.getTime();
        await store.exec('DELETE FROM schedule_ticks WHERE claimed_at < $1', [iso(new Date(now.getTime() - TICK_KEEP_MS))]);
      }
      return won.length === 1;
    },
  };
}
