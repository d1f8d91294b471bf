import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Workflow suites share one Temporal dev server; two cores are plenty for two files at once.
    fileParallelism: true,
    maxWorkers: 2,
    minWorkers: 1,
  },
});
