/**
 * `schedule_ticks`: one row per tick of a cron schedule that a runner took
 * (`runner/serve/schedule-ticks.ts`). Several runners sharing the state
 * store each wake on every tick; the first to insert the tick's row runs
 * the pass, the others find the row there and skip it, so a schedule fires
 * once per tick across the cluster. The key is node-cron's
 * `<task name>:<tick time, ISO>`.
 */
import type { StoreMigration } from './migration.types.js';

/** Creates `schedule_ticks (tick, runner, claimed_at)` with the index `schedule_ticks_claimed` for pruning. */
export const migration0022: StoreMigration = {
  name: '0022-schedule-ticks',
  async up({ qi, transaction }) {
    const q = (sql: string) => qi.sequelize.query(sql, { transaction });
    await q('CREATE TABLE schedule_ticks (tick TEXT NOT NULL PRIMARY KEY, runner TEXT NOT NULL, claimed_at TEXT NOT NULL)');
    await q('CREATE INDEX schedule_ticks_claimed ON schedule_ticks (claimed_at)');
  },
  async down({ qi, transaction }) {
    const q = (sql: string) => qi.sequelize.query(sql, { transaction });
    await q('DROP INDEX schedule_ticks_claimed');
    await q('DROP TABLE schedule_ticks');
  },
};
