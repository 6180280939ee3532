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
    // One file at a time: each attack times child processes against the same databases.
    maxWorkers: 1,
  },
});
