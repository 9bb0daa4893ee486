import { defineConfig } from 'vitest/config';

// End to end: the `npm start` stack (evaluator process, `wrangler dev`, the demo bank page built
// and served by vite) driven by Playwright in Debian's Chromium. One suite at a time: each
// starts its own stack, and key generation and evaluation are CPU-bound on the 2-core machine.
export default defineConfig({
  test: {
    // A real stack on a shared 2-core machine: a polled condition may take seconds, not the 1 s default.
    expect: { poll: { timeout: 30_000 } },
    include: ['tests/e2e/**/*.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
    // Offline and quiet: no wrangler telemetry.
    env: { WRANGLER_SEND_METRICS: 'false' },
  },
});
