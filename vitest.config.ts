import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Every test lives under test/; lint (dependency-cruiser `tests-live-under-test`) refuses one elsewhere.
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Each file gets its own database; files run in parallel processes.
    pool: 'forks',
  },
});
