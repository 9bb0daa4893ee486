import { defineConfig } from 'vitest/config';

// The gateway in real workerd (wrangler's dev server, local Durable Objects and R2) against
// real node-tfhe keys and, where a suite needs it, a real evaluator process on loopback.
export default defineConfig({
  test: {
    // Polled conditions against wrangler on a shared 2-core machine may take seconds, not the 1 s default.
    expect: { poll: { timeout: 30_000 } },
    server: { deps: { inline: ['@cloudflare/containers'] } },
    include: ['tests/workerd/**/*.test.ts'],
    globalSetup: ['tests/support/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // Offline and quiet: no telemetry, only wrangler's errors. And no rebuild mid-suite:
    // `dev.watch: false` still leaves wrangler watching wrangler.toml.
    env: { WRANGLER_LOG: 'error', WRANGLER_SEND_METRICS: 'false', WRANGLER_CI_DISABLE_CONFIG_WATCHING: 'true' },
    // One file at a time: each starts its own wrangler, and two of them streaming 30 MB keys and
    // thousands of fuzzed uploads side by side on two cores made wrangler's dev proxy reset
    // connections (ECONNRESET on a key upload in a clean-clone CI run).
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
  },
});
