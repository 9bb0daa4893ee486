import { describe, expect, it } from 'vitest';
import { CircuitError, createPbsPool } from '../../../evaluator/circuit/index.ts';
import { EngineError, type Ciphertext, type LookupTable, type ServerKey } from '../../../fhe/index.ts';

// Shape-only stand-ins: these tests exercise the pool's failure paths, never a real bootstrap.
const key = { format: 'not-a-key', params: {} } as unknown as ServerKey;
const ct = { data: new Uint32Array(2), degree: 1, noiseLevel: 1, messageModulus: 4, carryModulus: 4 } as Ciphertext;
const lut = { body: new Uint32Array(2), degree: 1 } as unknown as LookupTable;
const crashingWorker = new URL('data:text/javascript,throw new Error("boom")');

describe('bootstrap pool', () => {
  it('refuses a bad size', () => {
    expect(() => createPbsPool({ size: -1 })).toThrow(CircuitError);
    expect(() => createPbsPool({ size: 1.5 })).toThrow(CircuitError);
  });

  it('rejects with worker_failed when a worker dies, and pool_closed after close', async () => {
    const pool = createPbsPool({ size: 1, workerUrl: crashingWorker });
    await expect(pool.bootstrap(key, ct, lut)).rejects.toMatchObject({ code: 'worker_failed' });
    await pool.close();
    await expect(pool.bootstrap(key, ct, lut)).rejects.toMatchObject({ code: 'pool_closed' });
  });

  it('rejects queued work on close and aborted work at once', async () => {
    const pool = createPbsPool({ size: 1, workerUrl: crashingWorker });
    const controller = new AbortController();
    controller.abort();
    await expect(pool.bootstrap(key, ct, lut, controller.signal)).rejects.toMatchObject({ code: 'aborted' });
    const first = pool.bootstrap(key, ct, lut);
    const queued = pool.bootstrap(key, ct, lut);
    const closing = pool.close();
    await expect(first).rejects.toBeInstanceOf(CircuitError);
    await expect(queued).rejects.toMatchObject({ code: 'pool_closed' });
    await closing;
  });

  it('passes engine refusals through unchanged when inline', async () => {
    const pool = createPbsPool({ size: 0 });
    expect(pool.size).toBe(0);
    await expect(pool.bootstrap(key, ct, lut)).rejects.toBeInstanceOf(EngineError);
    await pool.close();
    await expect(pool.bootstrap(key, ct, lut)).rejects.toMatchObject({ code: 'pool_closed' });
  });
});
