/**
 * The reliability suite (issue 23), apart from `npm test`: `npm run
 * test:reliability` runs the bounded form; REKEY_RELIABILITY=long the long
 * one (500 kills per loop), by hand.
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['runner/reliability/**/*.reliability.test.ts'],
    testTimeout: 600_000,
    pool: 'forks',
    // The bounded form two files at a time: one at a time left a core idle half the run, the attacks
    // waiting on their child processes. Each file has folders, PostgreSQL schemas and ports of its own.
    // The long form (REKEY_RELIABILITY=long, hours, by hand) one at a time, so each attack's figures are its own.
    maxWorkers: process.env.REKEY_RELIABILITY === 'long' ? 1 : 2,
  },
});
