/**
 * Sessions of the console's signed-in users. A row is keyed by the SHA-256
 * of the session token, so the table alone cannot be replayed as cookies;
 * it holds a user name and times, never citizens' data. Kept in the state
 * store so that every runner behind one load balancer honours a session and
 * a restart signs nobody out.
 */
import type { StoreMigration } from './migration.types.js';

/** Adds `console_sessions (id_hash, user_name, created_at, seen_at, expires_at)`. */
export const migration0012: StoreMigration = {
  name: '0012-console-sessions',
  async up({ qi, transaction }) {
    const q = (sql: string) => qi.sequelize.query(sql, { transaction });
    await q('CREATE TABLE console_sessions (id_hash VARCHAR(64) NOT NULL PRIMARY KEY, user_name VARCHAR(200) NOT NULL, created_at TEXT NOT NULL, seen_at TEXT NOT NULL, expires_at TEXT NOT NULL)');
    await q('CREATE INDEX console_sessions_expiry ON console_sessions (expires_at)');
  },
  async down({ qi, transaction }) {
    const q = (sql: string) => qi.sequelize.query(sql, { transaction });
    await q('DROP INDEX console_sessions_expiry');
    await q('DROP TABLE console_sessions');
  },
};
