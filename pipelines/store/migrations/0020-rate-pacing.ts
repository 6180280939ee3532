/**
 * `rate_pacing`: one row per pipeline (or route lane) with a
 * `limits.ratePerSecond`, holding when its rate is next free, in
 * milliseconds since the epoch on the database's clock
 * (`pipelines/store/rate-pacing.ts`). Every runner sharing a PostgreSQL
 * state store reserves its deliveries in that one row, so the rate holds
 * across the cluster. SQLite (one runner) creates the table but paces in
 * memory.
 */
import type { StoreMigration } from './migration.types.js';

/** Creates `rate_pacing (lane, next_free_ms)`. */
export const migration0020: StoreMigration = {
  name: '0020-rate-pacing',
  async up({ qi, transaction }) {
    await qi.sequelize.query('CREATE TABLE rate_pacing (lane TEXT NOT NULL PRIMARY KEY, next_free_ms DOUBLE PRECISION NOT NULL)', { transaction });
  },
  async down({ qi, transaction }) {
    await qi.sequelize.query('DROP TABLE rate_pacing', { transaction });
  },
};
