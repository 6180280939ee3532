import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{lib,connectors,mappings,pipelines,runner,examples,fixtures}/**/*.test.ts'],
    // The reliability suite runs on its own: npm run test:reliability (vitest.reliability.config.ts).
    exclude: [...configDefaults.exclude, '**/*.reliability.test.ts'],
    // Generous: many tests run real processes, browsers and databases, two files at a time on two cores.
    testTimeout: 90_000,
    pool: 'forks',
    // Two files at a time even on two cores: most suites wait on child processes, browsers and databases.
    maxWorkers: 2,
    globalSetup: ['connectors/system-packages.global-setup.ts'],
  },
});
