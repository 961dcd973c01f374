import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: ['test/support/global-pg.ts', 'test/support/global-bundle.ts'],
    setupFiles: ['src/polyfill.ts'],
    include: ['test/**/*.test.ts', 'src/**/*.test.ts', 'sim/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // 2 cores: integration files start real processes; two files at a time is the sweet spot.
    maxWorkers: 2,
    pool: 'forks',
  },
});
