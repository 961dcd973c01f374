import { defineConfig } from 'vitest/config';

// Two projects: `unit` (files named *.unit.test.ts: no Postgres, no child processes; runs in
// seconds with `npm run test:unit`) and `integration` (everything else: a real Postgres for the
// whole run, the start-up bundle built once, real node processes). `npm test` runs both.
export default defineConfig({
  test: {
    setupFiles: ['src/polyfill.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // 2 cores: integration files start real processes; two files at a time is the sweet spot.
    maxWorkers: 2,
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['test/**/*.unit.test.ts', 'src/**/*.unit.test.ts', 'sim/**/*.unit.test.ts'] },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts', 'src/**/*.test.ts', 'sim/**/*.test.ts'],
          exclude: ['**/*.unit.test.ts', '**/node_modules/**'],
          globalSetup: ['test/support/global-pg.ts', 'test/support/global-bundle.ts'],
        },
      },
    ],
  },
});
