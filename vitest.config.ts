import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{connectors,mappings,pipelines,runner,examples,fixtures}/**/*.test.ts'],
    testTimeout: 30_000,
    pool: 'forks',
    globalSetup: ['connectors/browser/chromium.global-setup.ts'],
  },
});
