/**
 * Key expansion on a worker thread with the real engine and a real node-tfhe key, and the LRU
 * cache of expanded keys under a memory budget: idle keys are evicted, keys in use are not, and
 * an evicted key is expanded again on demand.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { ServerKey } from '../../../../fhe/index.ts';
import { ExpandedKeyCache } from '../../../../evaluator/service/keys/expanded-key-cache.ts';
import { KeyExpander } from '../../../../evaluator/service/keys/key-expander.ts';
import { MemoryBudget } from '../../../../evaluator/service/keys/memory-budget.ts';
import { createLogger } from '../../../../evaluator/service/log.ts';
import { loadTestKeys } from '../../../support/tfhe-keys.ts';
import { LogSink } from './support/harness.ts';

const expander = new KeyExpander();
afterAll(() => expander.close());
const compressed = () => loadTestKeys('tuniform').compressedServerKeyBytes;

describe('KeyExpander', () => {
  it('expands a real key off the main thread into shared memory', async () => {
    const { key, bytes } = await expander.expand(compressed());
    expect(key.params.lweDimension).toBe(918);
    expect(key.fourierBootstrapKey.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(key.keyswitchKeyLo.buffer).toBeInstanceOf(SharedArrayBuffer);
    // The engine's serverKeyByteLength: the whole shared wasm memory, i.e. the key's arrays plus
    // the per-thread scratch slots inside it.
    const arrays = key.keyswitchKeyLo.byteLength + key.keyswitchKeyHi.byteLength + key.fourierBootstrapKey.byteLength;
    expect(key.memory).toBeInstanceOf(WebAssembly.Memory);
    expect(bytes).toBe(key.memory!.buffer.byteLength);
    expect(bytes).toBeGreaterThan(arrays);
    expect(arrays).toBeGreaterThan(100e6);
  });

  it('turns an engine refusal into 422 invalid_server_key and keeps working', async () => {
    const bad = compressed().slice(0, 5000);
    await expect(expander.expand(bad)).rejects.toMatchObject({
      name: 'ApiError',
      status: 422,
      code: 'invalid_server_key',
      extra: { details: { engineCode: 'truncated' } },
    });
    expect((await expander.expand(compressed())).key.params.polynomialSize).toBe(2048);
  });
});

describe('ExpandedKeyCache', () => {
  it('evicts idle keys least-recently-used, never a key in use, and re-expands on demand', async () => {
    // Room for exactly one expanded key (~120 MB) beside nothing stored.
    const budget = new MemoryBudget(200 * 1024 * 1024, () => 0);
    const logs = new LogSink();
    let released = 0;
    let disposed = 0;
    const cache = new ExpandedKeyCache<ServerKey>({
      onRelease: () => released++,
      // What else holds an expanded key (the bootstrap pool) lets go exactly when the cache does.
      expand: async (b) => ({ ...(await expander.expand(b)), dispose: () => disposed++ }),
      budget,
      log: createLogger('info', logs),
      initialEstimateBytes: 100 * 1024 * 1024,
    });
    cache.prefetch('a', compressed());
    const a = await cache.acquire('a', compressed());
    expect(a.expandedNow).toBe(true); // acquired while the prefetch was still running
    a.release();
    expect(cache.stats()).toMatchObject({ entries: 1, expansions: 1, evictions: 0 });
    expect(budget.expanded).toBeGreaterThan(100e6);

    expect(released).toBe(0);
    const b = await cache.acquire('b', compressed());
    expect(cache.stats()).toMatchObject({ entries: 1, expansions: 2, evictions: 1 });
    expect(released).toBe(1); // the evicted key: the service collects garbage on this
    expect(disposed).toBe(1);
    // 'b' is in use: another key cannot evict it, so it is expanded over budget (and logged).
    const a2 = await cache.acquire('a', compressed());
    expect(cache.stats()).toMatchObject({ entries: 2, expansions: 3 });
    expect(logs.records.some((r) => r.msg === 'expanding a key over the memory budget')).toBe(true);
    a2.release();
    b.release();
    cache.drop('a');
    cache.drop('b');
    expect(budget.expanded).toBe(0);
    expect(released).toBe(3);
    expect(disposed).toBe(3);
  });
});
