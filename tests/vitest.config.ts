import { defineConfig } from 'vitest/config';

// Node-side tests: the FHE engine against the real node-tfhe client, the model and circuit,
// and the evaluator service over loopback HTTP. Browser and workerd suites have their own runners.
export default defineConfig({
  test: {
    // Polled conditions on a shared 2-core machine may take seconds, not the 1 s default.
    expect: { poll: { timeout: 30_000 } },
    include: ['tests/unit/**/*.test.ts', 'tests/integration/**/*.test.ts'],
    globalSetup: ['tests/support/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
    // Engine suites are CPU-bound; two forks match the 2-core CI machine.
    pool: 'forks',
    maxWorkers: 2,
  },
});
