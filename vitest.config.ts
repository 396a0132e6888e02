import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{api,workflows,activities,workers,shared,test,infra}/**/*.test.ts'],
    globalSetup: ['test/setup/global-setup.ts'],
    // Forks, not threads: the tests start Temporal workers (native bridge), Piscina pools and child
    // processes, and each file must have its own process-wide state (database connection, ids).
    pool: 'forks',
    maxWorkers: Number(process.env.TEST_CONCURRENCY ?? 2),
    fileParallelism: true,
    // Nothing may hang CI: every test and hook has a bound; the slowest (kill and restart tests) fit in it.
    testTimeout: 90_000,
    hookTimeout: 120_000,
    teardownTimeout: 30_000,
    reporters: ['default', './test/setup/summary-reporter.ts'],
  },
});
