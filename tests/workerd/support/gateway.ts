/**
 * Runs the gateway in real workerd through wrangler's programmatic dev server, with local
 * Durable Objects and R2 persisted to a fresh temporary directory, on 127.0.0.1, offline.
 * Bindings that tests vary (tenants, evaluator URL, limits) override `gateway/wrangler.toml`.
 *
 * Each gateway runs from its own copy of the configuration in its temporary directory, so its
 * build output (`.wrangler/tmp` beside the configuration) is its own: suites run in parallel, and
 * one gateway's clean-up on dispose must not remove the bundle another is serving.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'smol-toml';
import { getPlatformProxy, unstable_startWorker } from 'wrangler';
import { testTenants } from './tenants.ts';

export const CONFIG_PATH = join(import.meta.dirname, '..', '..', '..', 'gateway', 'wrangler.toml');
const R2_INSPECT_CONFIG = join(import.meta.dirname, 'r2-inspect.wrangler.toml');
export const TEST_SHARED_SECRET = 'workerd-test-shared-secret-0123456789abcdef';

export interface GatewayOptions {
  tenants?: unknown[];
  /** Defaults to a loopback port where nothing listens. */
  evaluatorUrl?: string;
  ipRateLimits?: { requestsPerMinute?: number; sessionsPerMinute?: number };
}

export interface TestGateway {
  url: URL;
  persistDir: string;
  /** `fetch` against the gateway; `path` is absolute (`/v1/...`). */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** Every R2 object key, read through a second local binding over the same persisted state. */
  blobKeys(prefix?: string): Promise<string[]>;
  dispose(): Promise<void>;
}

type Binding = { type: 'plain_text'; value: string } | { type: 'json'; value: unknown };

export async function startGateway(options: GatewayOptions = {}): Promise<TestGateway> {
  const persistDir = mkdtempSync(join(tmpdir(), 'blindscore-gateway-'));
  const bindings: Record<string, Binding> = {
    TENANTS: { type: 'plain_text', value: JSON.stringify(options.tenants ?? testTenants()) },
    EVALUATOR_URL: { type: 'plain_text', value: options.evaluatorUrl ?? 'http://127.0.0.1:9' },
    EVALUATOR_SHARED_SECRET: { type: 'plain_text', value: TEST_SHARED_SECRET },
    IP_RATE_LIMITS: { type: 'json', value: { requestsPerMinute: 100_000, sessionsPerMinute: 100_000, ...options.ipRateLimits } },
  };
  const config = parse(readFileSync(CONFIG_PATH, 'utf8'));
  config['main'] = join(CONFIG_PATH, '..', String(config['main']));
  const configCopy = join(persistDir, 'wrangler.toml');
  writeFileSync(configCopy, stringify(config));
  const worker = await unstable_startWorker({
    config: configCopy,
    bindings: bindings as never,
    dev: {
      server: { hostname: '127.0.0.1', port: 0 },
      inspector: false,
      watch: false,
      persist: persistDir,
      logLevel: 'error',
      enableContainers: false,
    },
  });
  await worker.ready;
  const url = await worker.url;
  return {
    url,
    persistDir,
    fetch: (path, init) => fetch(new URL(path, url), init),
    async blobKeys(prefix = '') {
      const proxy = await getPlatformProxy<{ BLOBS: { list(o: object): Promise<{ objects: { key: string }[]; truncated: boolean }> } }>({
        configPath: R2_INSPECT_CONFIG,
        persist: { path: join(persistDir, 'v3') },
        remoteBindings: false,
      });
      try {
        const listed = await proxy.env.BLOBS.list({ prefix, limit: 1000 });
        return listed.objects.map((o) => o.key);
      } finally {
        await proxy.dispose();
      }
    },
    async dispose() {
      await worker.dispose();
      rmSync(persistDir, { recursive: true, force: true });
    },
  };
}
