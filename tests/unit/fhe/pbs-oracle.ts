/**
 * The PBS oracle suite, run once per parameter set (one test file each, so the two sets run in
 * parallel): node-tfhe 1.6.1 makes the keys and encrypts, the engine bootstraps, node-tfhe
 * decrypts. Seeded random messages and random lookup tables; a chain of sequential bootstraps;
 * linear operations followed by a bootstrap; compressed and uncompressed inputs; trivial inputs;
 * the exact-u64 reference blind rotation; a key shared through a MessageChannel; batched
 * bootstraps with both WebAssembly kernel variants (plain SIMD and relaxed-SIMD fused
 * multiply-add), bit-identical to single ones. The other tests run the runtime's default
 * variant (relaxed on Node ≥ 22).
 */
import { MessageChannel } from 'node:worker_threads';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  addCiphertexts,
  blindRotationNoise,
  bootstrapKeyswitched,
  createLookupTable,
  keyswitchCiphertext,
  loadServerKey,
  programmableBootstrap,
  programmableBootstrapBatch,
  readClientKeySecrets,
  sampleVariance,
  scalarAdd,
  scalarMultiply,
  subCiphertexts,
  trivialEncrypt,
  kernelVariant,
  type BlindRotationPath,
  type Ciphertext,
  type EngineErrorCode,
  type ServerKey,
} from '../../../fhe/index.ts';
import { bootstrapSmallLweCiphertext, pbsScratch, programmableBootstrapLweCiphertext } from '../../../fhe/algorithms/pbs.ts';
import { loadTestKeys, type TestKeys, type TestParamSet } from '../../support/tfhe-keys.ts';
import * as tfhe from 'node-tfhe';
import {
  decrypt,
  decryptFull,
  encrypt,
  expectEngineError,
  lwePhase,
  randomInt,
  seededRandom,
  torusDistance,
  withKernelVariant,
} from './support.ts';

/** Random-table bootstraps per parameter set (≥ 100 each, so ≥ 200 across the suite with the rest). */
const RANDOM_PBS = 100;
const CHAIN_LENGTH = 12;

function randomTable(rng: () => number, p: number): number[] {
  return Array.from({ length: p }, () => randomInt(rng, p));
}

export function pbsOracleSuite(paramSet: TestParamSet, seed: number): void {
  describe(`programmable bootstrapping against node-tfhe (${paramSet})`, () => {
    let keys: TestKeys;
    let key: ServerKey;

    beforeAll(() => {
      keys = loadTestKeys(paramSet);
      key = loadServerKey(keys.compressedServerKeyBytes);
    });

    it(`applies ${RANDOM_PBS} random tables to random inputs with carries (compressed and plain)`, () => {
      const rng = seededRandom(seed);
      const { messageModulus: msg, carryModulus: carry } = key.params;
      const p = msg * carry;
      const failures: string[] = [];
      for (let t = 0; t < RANDOM_PBS; t++) {
        const m = randomInt(rng, msg);
        const extra = randomInt(rng, p - msg + 1); // input value m + extra ≤ p − 1
        const input = scalarAdd(encrypt(keys, m, t % 2 === 0), extra, key.params);
        const table = randomTable(rng, p);
        const out = programmableBootstrap(key, input, createLookupTable(key.params, table));
        const v = m + extra;
        const full = decryptFull(keys, out);
        const message = decrypt(keys, out);
        if (full !== table[v] || message !== table[v]! % msg) {
          failures.push(`#${t}: f(${v}) = ${table[v]}, decrypted ${full} / ${message}`);
        }
        expect(out.degree).toBe(Math.max(...table));
        expect(out.noiseLevel).toBe(1);
      }
      expect(failures).toEqual([]);
    });

    it(`resets the noise: a chain of ${CHAIN_LENGTH} bootstraps on one ciphertext`, () => {
      const rng = seededRandom(seed + 1);
      const p = key.params.messageModulus * key.params.carryModulus;
      let ct: Ciphertext = encrypt(keys, 1);
      let value = 1;
      for (let step = 0; step < CHAIN_LENGTH; step++) {
        const table = randomTable(rng, p);
        ct = programmableBootstrap(key, ct, createLookupTable(key.params, table));
        value = table[value]!;
        expect(decryptFull(keys, ct), `step ${step}`).toBe(value);
      }
    });

    it('bootstraps the results of linear operations', () => {
      const msg = key.params.messageModulus;
      const extract = createLookupTable(key.params, (v) => v % msg);
      const carryOut = createLookupTable(key.params, (v) => Math.floor(v / msg));
      const cases: Array<[string, number, number, (a: Ciphertext, b: Ciphertext) => Ciphertext, (a: number, b: number) => number]> = [
        ['a + b', 3, 3, (a, b) => addCiphertexts(a, b), (a, b) => a + b],
        ['a + b', 2, 3, (a, b) => addCiphertexts(a, b), (a, b) => a + b],
        ['a − b', 1, 3, (a, b) => subCiphertexts(a, b), (a, b) => a - b + msg],
        ['a − b', 3, 1, (a, b) => subCiphertexts(a, b), (a, b) => a - b + msg],
        ['3·a', 3, 0, (a) => scalarMultiply(a, 3), (a) => 3 * a],
        ['a + 2 + b', 2, 3, (a, b) => addCiphertexts(scalarAdd(a, 2), b), (a, b) => a + 2 + b],
      ];
      for (const [name, x, y, op, clear] of cases) {
        const r = op(encrypt(keys, x), encrypt(keys, y, true));
        const v = clear(x, y);
        expect(decryptFull(keys, programmableBootstrap(key, r, extract)), `${name} (${x}, ${y}) mod msg`).toBe(v % msg);
        expect(decryptFull(keys, programmableBootstrap(key, r, carryOut)), `${name} (${x}, ${y}) carry`).toBe(Math.floor(v / msg));
      }
    });

    it('splits into keyswitch and PBS (tfhe-rs terms) with the same bits as the whole KS-PBS', () =>
      withKernelVariant('plain', () => {
        const lut = createLookupTable(key.params, (v) => (v * 3 + 1) % 16);
        const scratch = pbsScratch(key.params);
        for (const m of [0, 1, 2, 3]) {
          const input = encrypt(keys, m);
          const small = keyswitchCiphertext(key, input).slice();
          expect(small.length).toBe(2 * (key.params.lweDimension + 1));
          const out = bootstrapKeyswitched(key, small, lut);
          expect(out.degree).toBe(lut.degree);
          expect(out.noiseLevel).toBe(1);
          expect(decryptFull(keys, out)).toBe((m * 3 + 1) % 16);
          expect(Buffer.from(out.data.buffer).equals(Buffer.from(programmableBootstrap(key, input, lut).data.buffer))).toBe(true);
          // The TypeScript path's PBS-alone gives the same bits as the plain kernels.
          const viaTs = new Uint32Array(out.data.length);
          bootstrapSmallLweCiphertext(key, small, lut.body, viaTs, scratch);
          expect(Buffer.from(viaTs.buffer).equals(Buffer.from(out.data.buffer))).toBe(true);
        }
        const bad: Array<[unknown, EngineErrorCode]> = [
          [new Uint32Array(2 * key.params.lweDimension), 'invalid_argument'],
          [new Float64Array(2 * (key.params.lweDimension + 1)), 'invalid_argument'],
          [null, 'invalid_argument'],
        ];
        for (const [small, code] of bad) expectEngineError(() => bootstrapKeyswitched(key, small as Uint32Array, lut), code);
        const other = { ...lut, polynomialSize: lut.polynomialSize * 2 };
        expectEngineError(() => bootstrapKeyswitched(key, keyswitchCiphertext(key, encrypt(keys, 1)), other), 'parameter_mismatch');
      }));

    for (const variant of ['plain', 'relaxed'] as const) {
      it(`bootstraps batches with the ${variant} kernels: node-tfhe decrypts, and each result is the single bootstrap's bits`, () =>
        withKernelVariant(variant, () => {
          const rng = seededRandom(seed + (variant === 'plain' ? 7 : 8));
          const { messageModulus: msg, carryModulus: carry } = key.params;
          const p = msg * carry;
          // Sizes around the kernel's batch of 8 (chunks of 8 + remainder), one trivial input.
          for (const size of [1, 3, 11]) {
            const values = Array.from({ length: size }, () => randomInt(rng, p));
            const tables = values.map(() => randomTable(rng, p));
            const cts = values.map((v, i) =>
              size === 3 && i === 1
                ? trivialEncrypt(key.params, v % msg)
                : scalarAdd(encrypt(keys, v % msg, i % 2 === 0), v - (v % msg), key.params),
            );
            const luts = tables.map((t) => createLookupTable(key.params, t));
            const batch = programmableBootstrapBatch(key, cts, luts);
            expect(batch.length).toBe(size);
            batch.forEach((out, i) => {
              const v = size === 3 && i === 1 ? values[i]! % msg : values[i]!;
              expect(decryptFull(keys, out), `batch of ${size}, #${i}: f(${v})`).toBe(tables[i]![v]);
              expect(out.degree).toBe(luts[i]!.degree);
              const single = programmableBootstrap(key, cts[i]!, luts[i]!);
              expect(out.noiseLevel).toBe(single.noiseLevel);
              expect(Buffer.from(out.data.buffer).equals(Buffer.from(single.data.buffer)), `batch of ${size}, #${i} bits`).toBe(true);
            });
          }
        }));
    }

    it('has the same output-noise variance on every path (decrypted accumulators vs the exact reference)', () => {
      const secrets = readClientKeySecrets(tfhe.Shortint.serialize_client_key(keys.clientKey));
      const table = (v: number) => (v * 7 + 3) % 16;
      const lut = createLookupTable(key.params, table);
      const paths: BlindRotationPath[] = ['reference', 'plain', 'relaxed'];
      const samples = new Map(paths.map((path) => [path, [] as number[]]));
      for (const m of [1, 2]) {
        const ct = encrypt(keys, m);
        for (const path of paths) samples.get(path)!.push(...blindRotationNoise(key, ct, lut, path, secrets));
        // The audit's coefficient 0 is the output's noise as the client key decrypts it.
        const out = programmableBootstrap(key, ct, lut);
        const delta = 2n ** 63n / 16n;
        const decrypted = Number(torusDistance(lwePhase(out.data, secrets.glweKey), BigInt(table(m)) * delta));
        const audited = samples.get(kernelVariant())!.at(-key.params.polynomialSize)!;
        expect(Math.abs(decrypted - audited)).toBeLessThan(2 ** 24);
      }
      const variance = (path: BlindRotationPath) => sampleVariance(samples.get(path)!).variance;
      // Noise far below the decoding margin Δ/2 = 2^58, and the fast paths within a small factor
      // of the reference (f64 accumulators add FFT error; a broken kernel would be off by 2^10+).
      // Fused multiply-adds round less: the relaxed path's variance may be lower, not higher.
      expect(Math.log2(variance('reference')) / 2).toBeLessThan(52);
      for (const path of ['plain', 'relaxed'] as const) {
        const ratio = variance(path) / variance('reference');
        expect(ratio, `${path} / reference`).toBeGreaterThan(0.4);
        expect(ratio, `${path} / reference`).toBeLessThan(2.5);
      }
      // Relaxed against plain: the same small-factor bound. Which path rounds less depends on
      // whether the platform fuses the multiply-add (relaxed SIMD leaves it to the platform), and
      // the key's own noise differs per run: 1.47 was seen on the Gaussian set, 0.67 on TUniform.
      expect(variance('relaxed') / variance('plain')).toBeLessThan(2.5);
    });

    it('refuses malformed batches before bootstrapping any of them', () => {
      const lut = createLookupTable(key.params, (v) => v % 4);
      const ct = encrypt(keys, 1);
      expect(programmableBootstrapBatch(key, [], [])).toEqual([]);
      expectEngineError(() => programmableBootstrapBatch(key, [ct, ct], [lut]), 'invalid_argument');
      expectEngineError(() => programmableBootstrapBatch(key, null as unknown as Ciphertext[], []), 'invalid_argument');
      expectEngineError(
        () => programmableBootstrapBatch(key, [ct, { ...ct, noiseLevel: key.params.maxNoiseLevel + 1 }], [lut, lut]),
        'noise_overflow',
      );
      expectEngineError(
        () => programmableBootstrapBatch(key, [ct], [{ ...lut, polynomialSize: lut.polynomialSize * 2 }]),
        'parameter_mismatch',
      );
    });

    it('evaluates trivial inputs in the clear, like tfhe-rs', () => {
      const table = [3, 0, 2, 1, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14];
      for (const m of [0, 2, 3]) {
        const out = programmableBootstrap(key, trivialEncrypt(key.params, m), createLookupTable(key.params, table));
        expect(out.noiseLevel).toBe(0);
        expect(decryptFull(keys, out)).toBe(table[m]);
      }
    });

    it('gives the same decryptions with the exact u64 reference blind rotation', () => {
      const lut = createLookupTable(key.params, (v) => (v * 5 + 2) % 16);
      const scratch = pbsScratch(key.params);
      for (const m of [1, 2]) {
        const input = encrypt(keys, m);
        const out = { ...input, data: new Uint32Array(input.data.length), degree: lut.degree, noiseLevel: 1 };
        programmableBootstrapLweCiphertext(key, input.data, lut.body, out.data, scratch, 'reference');
        expect(decryptFull(keys, out)).toBe((m * 5 + 2) % 16);
      }
    });

    it('works on a key received through postMessage, whose arrays share memory', async () => {
      const { port1, port2 } = new MessageChannel();
      const received = new Promise<ServerKey>((resolve) => port2.once('message', resolve));
      port1.postMessage(key);
      const shared = await received;
      port1.close();
      for (const a of [shared.keyswitchKeyLo, shared.keyswitchKeyHi, shared.fourierBootstrapKey]) {
        expect(a.buffer).toBeInstanceOf(SharedArrayBuffer);
      }
      // Same memory, not a copy: a write through one view is seen through the other.
      const before = key.keyswitchKeyLo[0]!;
      shared.keyswitchKeyLo[0] = (before ^ 1) >>> 0;
      expect(key.keyswitchKeyLo[0]).toBe((before ^ 1) >>> 0);
      shared.keyswitchKeyLo[0] = before;
      const lut = createLookupTable(shared.params, (v) => 15 - v);
      expect(decryptFull(keys, programmableBootstrap(shared, encrypt(keys, 2), lut))).toBe(13);
    });
  });
}
