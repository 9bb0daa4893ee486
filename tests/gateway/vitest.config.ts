import { fileURLToPath } from 'node:url';
import { cloudflareTest } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';

// The gateway's own modules run inside workerd, in process (@cloudflare/vitest-plugin: Durable
// Objects and R2 emulated by Miniflare), for the checks that read its internals: the route
// table, tenant configuration, the evaluator client's error classification. The flows run
// against real `wrangler dev` in tests/workerd.
export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: fileURLToPath(new URL('../../gateway/wrangler.toml', import.meta.url)) },
    }),
  ],
  test: {
    include: ['tests/gateway/**/*.test.ts'],
    globalSetup: ['tests/gateway/support/global-setup.ts'],
  },
});
