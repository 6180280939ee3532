import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{connectors,mappings,pipelines,runner,examples,fixtures}/**/*.test.ts'],
    testTimeout: 30_000,
    pool: 'forks',
    // Two files at a time even on two cores: most suites wait on child processes, browsers and databases.
    maxWorkers: 2,
    globalSetup: ['connectors/system-packages.global-setup.ts'],
  },
});
