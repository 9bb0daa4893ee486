/**
 * The gateway's process under `npm start`: wrangler's dev server (the engine of `wrangler dev`:
 * workerd with local Durable Objects and R2, offline, no account) for `gateway/wrangler.toml`,
 * without watching the sources, so an edit elsewhere in the checkout never restarts the Worker
 * under a running check. For live reload while working on the gateway, use
 * `npm run gateway:dev`.
 *
 * Arguments: `--port`, `--persist-to`, `--env-file` (the values `demo/stack.ts` writes).
 */
import { parseArgs } from 'node:util';
import { unstable_startWorker } from 'wrangler';
import { z } from 'zod';
import { WRANGLER_CONFIG } from './gateway-config.ts';
import { HOST } from './ports.ts';

const Args = z.object({
  port: z.coerce.number().int().min(1).max(65_535),
  'persist-to': z.string().min(1),
  'env-file': z.string().min(1),
});

const args = Args.parse(
  parseArgs({ options: { port: { type: 'string' }, 'persist-to': { type: 'string' }, 'env-file': { type: 'string' } } }).values,
);

// `watch: false` stops source watching only: wrangler still watches wrangler.toml and rebuilds
// into a fresh temporary directory on any change event, under a check in flight.
process.env.WRANGLER_CI_DISABLE_CONFIG_WATCHING = 'true';

const worker = await unstable_startWorker({
  config: WRANGLER_CONFIG,
  envFiles: [args['env-file']],
  dev: {
    server: { hostname: HOST, port: args.port },
    inspector: false,
    watch: false,
    persist: args['persist-to'],
    logLevel: 'info',
    // Local runs reach the evaluator over EVALUATOR_URL; containers would need Docker.
    enableContainers: false,
  },
});
await worker.ready;
process.stdout.write(`gateway ready on ${(await worker.url).href}\n`);

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    void worker.dispose().finally(() => process.exit(0));
  });
}
