import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // The example agents and the client's tests import @warden/client as its users do (tsconfig `paths`).
    alias: { '@warden/client': fileURLToPath(new URL('./client/src/node.ts', import.meta.url)) },
  },
  test: {
    // Every test lives under test/; lint (dependency-cruiser `tests-live-under-test`) refuses one elsewhere.
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Each file gets its own database; files run in parallel processes.
    pool: 'forks',
  },
});
