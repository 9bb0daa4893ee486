/**
 * Linear operations and lookup-table construction: node-tfhe decrypts the results, and the
 * degree / noise-level bookkeeping follows tfhe-rs's checked operations.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  addCiphertexts,
  createLookupTable,
  deserializeCompressedServerKey,
  scalarAdd,
  scalarMultiply,
  subCiphertexts,
  trivialEncrypt,
  type ShortintParameters,
} from '../../../fhe/index.ts';
import { loadTestKeys, type TestKeys } from '../../support/tfhe-keys.ts';
import { decrypt, decryptFull, encrypt, expectEngineError } from './support.ts';

describe('linear operations (tuniform key, node-tfhe oracle)', () => {
  let keys: TestKeys;
  let params: ShortintParameters;

  beforeAll(() => {
    keys = loadTestKeys('tuniform');
    params = deserializeCompressedServerKey(keys.compressedServerKeyBytes).params;
  });

  it('adds, with degree and noise level summed', () => {
    for (const [a, b] of [
      [0, 0],
      [3, 3],
      [2, 1],
      [1, 3],
    ] as const) {
      const r = addCiphertexts(encrypt(keys, a), encrypt(keys, b, true));
      expect(decryptFull(keys, r)).toBe(a + b);
      expect(decrypt(keys, r)).toBe((a + b) % 4);
      expect([r.degree, r.noiseLevel]).toEqual([6, 2]);
    }
  });

  it('subtracts with tfhe-rs correcting term: a − b + z·Δ, z = ⌈deg b / msg⌉·msg', () => {
    for (const [a, b] of [
      [0, 3],
      [3, 0],
      [2, 2],
      [1, 2],
    ] as const) {
      const r = subCiphertexts(encrypt(keys, a), encrypt(keys, b));
      expect(r.degree).toBe(3 + 4);
      expect(r.noiseLevel).toBe(2);
      expect(decryptFull(keys, r)).toBe(a - b + 4);
      expect(decrypt(keys, r)).toBe((a - b + 4) % 4);
    }
    // A right operand of degree 0 still gets z = msg (tfhe-rs's max(1, …)).
    const r = subCiphertexts(encrypt(keys, 2), trivialEncrypt(params, 0));
    expect([r.degree, decryptFull(keys, r)]).toEqual([3 + 4, 6]);
  });

  it('multiplies by small scalars and adds plaintext constants', () => {
    const x = encrypt(keys, 3);
    expect(decryptFull(keys, scalarMultiply(x, 5))).toBe(15);
    expect(scalarMultiply(x, 5)).toMatchObject({ degree: 15, noiseLevel: 5 });
    expect(decryptFull(keys, scalarMultiply(x, 1))).toBe(3);
    const zero = scalarMultiply(x, 0);
    expect([zero.degree, zero.noiseLevel, decryptFull(keys, zero)]).toEqual([0, 0, 0]);
    expect(zero.data.every((w) => w === 0)).toBe(true);
    const y = scalarAdd(x, 12);
    expect([y.degree, y.noiseLevel, decryptFull(keys, y)]).toEqual([15, 1, 15]);
  });

  it('encrypts trivially (mod message modulus, noise level 0)', () => {
    for (const m of [0, 1, 3, 6]) {
      const t = trivialEncrypt(params, m);
      expect([t.degree, t.noiseLevel]).toEqual([m % 4, 0]);
      expect(decryptFull(keys, t)).toBe(m % 4);
    }
  });

  it("refuses results beyond the key's degree and noise budgets, and bad arguments", () => {
    const x = encrypt(keys, 1);
    expectEngineError(() => scalarMultiply(x, 6), 'degree_overflow');
    expectEngineError(() => scalarAdd(x, 13), 'degree_overflow');
    expectEngineError(() => addCiphertexts(scalarAdd(x, 10), x), 'degree_overflow');
    expectEngineError(() => subCiphertexts(scalarAdd(x, 9), x), 'degree_overflow');
    const noisy = { ...x, degree: 1, noiseLevel: 5 };
    expectEngineError(() => addCiphertexts(noisy, x), 'noise_overflow');
    expectEngineError(() => scalarMultiply({ ...x, degree: 1, noiseLevel: 2 }, 3), 'noise_overflow');
    // The key's own budget when given: a key could allow less than the moduli's default.
    expectEngineError(() => scalarAdd(x, 4, { ...params, maxDegree: 6 }), 'degree_overflow');
    expectEngineError(() => scalarMultiply(x, 1.5), 'invalid_argument');
    expectEngineError(() => scalarMultiply(x, 256), 'invalid_argument');
    expectEngineError(() => scalarAdd(x, -1), 'invalid_argument');
    expectEngineError(() => trivialEncrypt(params, -2), 'invalid_argument');
    expectEngineError(() => addCiphertexts(x, { ...x, messageModulus: 8 }), 'parameter_mismatch');
    expectEngineError(() => addCiphertexts(x, { ...x, data: new Uint32Array(8) }), 'parameter_mismatch');
  });

  it('builds lookup tables from functions or arrays and refuses out-of-range outputs', () => {
    const fromFn = createLookupTable(params, (v) => (v * 3) % 16);
    const fromArray = createLookupTable(
      params,
      Array.from({ length: 16 }, (_, v) => (v * 3) % 16),
    );
    expect(Array.from(fromFn.body)).toEqual(Array.from(fromArray.body));
    expect(fromFn.degree).toBe(15);
    expect(createLookupTable(params, () => 2).degree).toBe(2);
    expectEngineError(() => createLookupTable(params, (v) => v + 1), 'invalid_argument');
    expectEngineError(() => createLookupTable(params, [1, 2, 3]), 'invalid_argument');
    expectEngineError(() => createLookupTable(params, () => 0.5), 'invalid_argument');
    expectEngineError(() => createLookupTable(params, () => Number.NaN), 'invalid_argument');
  });
});
