import { describe, expect, it } from 'vitest';
import { CircuitError, createPbsPool } from '../../../../evaluator/circuit/index.ts';
import {
  createLookupTable,
  EngineError,
  loadServerKey,
  programmableBootstrap,
  type Ciphertext,
  type LookupTable,
  type ServerKey,
} from '../../../../fhe/index.ts';
import { loadTestKeys } from '../../../support/tfhe-keys.ts';
import { decryptFull, encrypt } from '../../fhe/support.ts';

// Shape-only stand-ins: these tests exercise the pool's failure paths, never a real bootstrap.
const key = { format: 'not-a-key', params: {} } as unknown as ServerKey;
const ct = { data: new Uint32Array(2), degree: 1, noiseLevel: 1, messageModulus: 4, carryModulus: 4 } as Ciphertext;
const lut = { body: new Uint32Array(2), degree: 1 } as unknown as LookupTable;
const crashingWorker = new URL('data:text/javascript,throw new Error("boom")');

describe('bootstrap pool', () => {
  it('refuses a bad size', () => {
    expect(() => createPbsPool({ size: -1 })).toThrow(CircuitError);
    expect(() => createPbsPool({ size: 1.5 })).toThrow(CircuitError);
    expect(() => createPbsPool({ size: 1, maxBatch: 0 })).toThrow(CircuitError);
    expect(() => createPbsPool({ size: 1, maxBatch: 65 })).toThrow(CircuitError);
  });

  it('batches bootstraps requested together: same bits as inline, and one refused input fails alone', { timeout: 300_000 }, async () => {
    const keys = loadTestKeys('tuniform');
    const serverKey = loadServerKey(keys.compressedServerKeyBytes);
    const table = (v: number) => (v * 5 + 1) % 16;
    const realLut = createLookupTable(serverKey.params, table);
    const inputs = Array.from({ length: 11 }, (_, i) => encrypt(keys, i % 4));
    const overflow = { ...inputs[0]!, degree: serverKey.params.maxDegree + 1 };
    const pool = createPbsPool({ size: 2 });
    pool.acquireKey(serverKey);
    try {
      // Requested in one turn: 12 tasks over 2 workers → batches of 6 (one holding the bad input).
      const results = await Promise.allSettled([...inputs, overflow].map((ct) => pool.bootstrap(serverKey, ct, realLut)));
      const bad = results.pop()!;
      expect(bad.status).toBe('rejected');
      expect((bad as PromiseRejectedResult).reason).toBeInstanceOf(EngineError);
      expect((bad as PromiseRejectedResult).reason.code).toBe('degree_overflow');
      results.forEach((r, i) => {
        expect(r.status, `#${i}`).toBe('fulfilled');
        const out = (r as PromiseFulfilledResult<Ciphertext>).value;
        expect(decryptFull(keys, out)).toBe(table(i % 4));
        expect(Buffer.from(out.data.buffer).equals(Buffer.from(programmableBootstrap(serverKey, inputs[i]!, realLut).data.buffer))).toBe(
          true,
        );
      });
    } finally {
      pool.releaseKey(serverKey);
      await pool.close();
    }
  });

  it('keeps a held key with its workers across runs: sent once per worker, again only after the last hold ends', {
    timeout: 120_000,
  }, async () => {
    const keys = loadTestKeys('tuniform');
    const serverKey = loadServerKey(keys.compressedServerKeyBytes);
    const table = (v: number) => (v + 1) % 4;
    const realLut = createLookupTable(serverKey.params, table);
    const pool = createPbsPool({ size: 1 });
    pool.warm();
    const run = async (value: number) => {
      pool.acquireKey(serverKey);
      try {
        return decryptFull(keys, await pool.bootstrap(serverKey, encrypt(keys, value), realLut));
      } finally {
        pool.releaseKey(serverKey);
      }
    };
    try {
      // The expanded-key cache's hold: two runs on the held key send it to the worker once.
      pool.acquireKey(serverKey);
      expect(await run(1)).toBe(table(1));
      expect(await run(2)).toBe(table(2));
      expect(pool.keyTransfers).toBe(1);
      // Once nothing holds the key the worker forgets it; the next run sends it again.
      pool.releaseKey(serverKey);
      expect(await run(3)).toBe(table(3));
      expect(pool.keyTransfers).toBe(2);
    } finally {
      await pool.close();
    }
  });

  it('runs background bootstraps only when no run bootstrap waits; promote lifts them', { timeout: 120_000 }, async () => {
    const keys = loadTestKeys('tuniform');
    const serverKey = loadServerKey(keys.compressedServerKeyBytes);
    const realLut = createLookupTable(serverKey.params, (v) => (v + 1) % 4);
    const pool = createPbsPool({ size: 1 });
    pool.acquireKey(serverKey);
    const order: string[] = [];
    const submit = (name: string, priority: 'run' | 'background', signal?: AbortSignal) =>
      pool.bootstrap(serverKey, encrypt(keys, 1), realLut, signal, priority).then((out) => {
        order.push(name);
        expect(decryptFull(keys, out)).toBe(2);
      });
    try {
      // Requested together, background first: the run's go first, then background in batches of 2.
      const background = new AbortController();
      const jobs = [
        ...['b1', 'b2', 'b3', 'b4', 'b5'].map((n) => submit(n, 'background', background.signal)),
        submit('r1', 'run'),
        submit('r2', 'run'),
      ];
      // Promoted before the pump: p1 goes with the run's bootstraps, ahead of the background ones.
      const promoted = new AbortController();
      jobs.push(submit('p1', 'background', promoted.signal));
      pool.promote(promoted.signal);
      await Promise.all(jobs);
      expect(order.slice(0, 3).sort()).toEqual(['p1', 'r1', 'r2']);
      expect(order.slice(3)).toEqual(['b1', 'b2', 'b3', 'b4', 'b5']);
    } finally {
      pool.releaseKey(serverKey);
      await pool.close();
    }
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
