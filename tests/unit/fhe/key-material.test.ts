/**
 * CSPRNG and key expansion against what node-tfhe's seeded objects imply: regenerated masks,
 * joined with the stored bodies, must decrypt (with the test client key's secret bits) to the
 * plaintexts tfhe-rs puts in each object, with noise of the parameter set's size; and
 * decompressed ciphertexts must be byte-identical to node-tfhe's own decompression.
 */
import * as tfhe from 'node-tfhe';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  deserializeCompressedCiphertext,
  deserializeCompressedServerKey,
  expandServerKey,
  serializeCiphertext,
  type CompressedServerKey,
  type ServerKey,
} from '../../../fhe/index.ts';
import { fillMaskWords } from '../../../fhe/csprng/aes-ctr.ts';
import { loadTestKeys, TEST_PARAM_SETS, type TestParamSet } from '../../support/tfhe-keys.ts';
import { lwePhase, parseClientKey, torusDistance, word, type ParsedClientKey } from './support.ts';

const SETS = Object.keys(TEST_PARAM_SETS) as TestParamSet[];

describe.each(SETS)('seeded key material (%s)', (paramSet) => {
  let compressed: CompressedServerKey;
  let key: ServerKey;
  let secret: ParsedClientKey;

  beforeAll(() => {
    const keys = loadTestKeys(paramSet);
    compressed = deserializeCompressedServerKey(keys.compressedServerKeyBytes);
    key = expandServerKey(compressed);
    secret = parseClientKey(keys.clientKeyBytes);
  });

  it('decompresses ciphertexts byte-identically to node-tfhe', () => {
    const keys = loadTestKeys(paramSet);
    for (let m = 0n; m < 4n; m++) {
      const c = tfhe.Shortint.encrypt_compressed(keys.clientKey, m);
      const mine = serializeCiphertext(deserializeCompressedCiphertext(tfhe.Shortint.serialize_compressed_ciphertext(c), key.params));
      const theirs = tfhe.Shortint.serialize_ciphertext(tfhe.Shortint.decompress_ciphertext(c));
      expect(Buffer.from(mine).equals(Buffer.from(theirs))).toBe(true);
    }
  });

  it('regenerates keyswitch-key masks: entry (i, j) decrypts to s_big[i]·2^(64−β(L−j)) under the small key', () => {
    const { lweDimension: n, ksBaseLog: beta, ksLevel: L } = key.params;
    const K = secret.glweKey.length;
    let worst = 0n;
    for (const i of [0, 1, 2, 777, K - 1]) {
      for (let j = 0; j < L; j++) {
        const t = i * L + j;
        const row = new Uint32Array(2 * (n + 1));
        for (let w = 0; w <= n; w++) {
          row[2 * w] = key.keyswitchKeyLo[t * (n + 1) + w]!;
          row[2 * w + 1] = key.keyswitchKeyHi[t * (n + 1) + w]!;
        }
        const expected = BigInt(secret.glweKey[i]!) << BigInt(64 - beta * (L - j));
        const noise = torusDistance(lwePhase(row, secret.lweKey), expected);
        worst = noise < 0n ? (-noise > worst ? -noise : worst) : noise > worst ? noise : worst;
      }
    }
    // Fresh lwe noise: TUniform bound 2^45, Gaussian σ ≈ 2^45.1.
    expect(worst).toBeLessThan(1n << 49n);
  });

  it('regenerates bootstrap-key masks: GGSW rows decrypt to −s_i·f·S_0 and +s_i·f under the GLWE key', () => {
    const { lweDimension: n, glweDimension: k, polynomialSize: N, pbsBaseLog: beta, pbsLevel: L } = key.params;
    expect(k).toBe(1);
    const S = secret.glweKey;
    const mask = new Uint32Array(2 * N);
    let worst = 0n;
    for (const i of [0, 1, n - 1]) {
      for (let l = 0; l < L; l++) {
        const f = 1n << BigInt(64 - beta * (L - l));
        for (let r = 0; r <= k; r++) {
          const row = (i * L + l) * (k + 1) + r;
          fillMaskWords(compressed.bootstrapKey.seed, row * k * N, k * N, mask);
          // Phase B − A·S in Z_q[X]/(X^N + 1), checked on a few coefficients.
          for (const c of [0, 1, N / 2, N - 1]) {
            let phase = word(compressed.bootstrapKey.bodies, row * N + c);
            for (let u = 0; u < N; u++) {
              if (!S[u]) continue;
              const v = c - u;
              const a = v >= 0 ? word(mask, v) : -word(mask, v + N);
              phase -= a;
            }
            phase = BigInt.asUintN(64, phase);
            const s = BigInt(secret.lweKey[i]!);
            const expected = r < k ? BigInt.asUintN(64, -s * f * BigInt(S[c]!)) : c === 0 ? s * f : 0n;
            const noise = torusDistance(phase, expected);
            const abs = noise < 0n ? -noise : noise;
            if (abs > worst) worst = abs;
          }
        }
      }
    }
    // Fresh glwe noise: TUniform bound 2^17, Gaussian σ ≈ 2^15.7.
    expect(worst).toBeLessThan(1n << 21n);
  });

  it('regenerates the drift-technique encryptions of zero (Gaussian set only)', () => {
    if (key.params.modulusSwitch.kind !== 'drift') {
      expect(key.modulusSwitchZeros).toBeNull();
      return;
    }
    const zeros = key.modulusSwitchZeros!;
    const size = key.params.lweDimension + 1;
    let worst = 0n;
    for (let t = 0; t < key.params.modulusSwitch.zerosCount; t += 97) {
      const noise = torusDistance(lwePhase(zeros.subarray(2 * t * size, 2 * (t + 1) * size), secret.lweKey), 0n);
      const abs = noise < 0n ? -noise : noise;
      if (abs > worst) worst = abs;
    }
    expect(worst).toBeLessThan(1n << 50n);
  });

  it('fails the same checks with a wrong seed (negative control)', () => {
    const { lweDimension: n, ksBaseLog: beta, ksLevel: L } = key.params;
    const right = compressed.keyswitchKey.seed;
    const wrong = { ...right, seed: right.seed.map((b) => b ^ 0x55) };
    /** The largest phase error of the rows of two input coefficients, masks drawn from `seed`. */
    const worstNoise = (seed: typeof right) => {
      let worst = 0n;
      for (let t = 0; t < 2 * L; t++) {
        const row = new Uint32Array(2 * (n + 1));
        fillMaskWords(seed, t * n, n, row);
        row[2 * n] = compressed.keyswitchKey.bodies[2 * t]!;
        row[2 * n + 1] = compressed.keyswitchKey.bodies[2 * t + 1]!;
        const [i, j] = [Math.floor(t / L), t % L];
        const expected = BigInt(secret.glweKey[i]!) << BigInt(64 - beta * (L - j));
        const noise = torusDistance(lwePhase(row, secret.lweKey), expected);
        if ((noise < 0n ? -noise : noise) > worst) worst = noise < 0n ? -noise : noise;
      }
      return worst;
    };
    expect(worstNoise(right)).toBeLessThan(1n << 49n);
    // With a wrong mask each phase is uniform: all 2L of them within 2^49 has probability
    // (2^-14)^(2L), never in practice (one row against 2^55 failed one run in 256).
    expect(worstNoise(wrong)).toBeGreaterThan(1n << 49n);
  });
});

describe('AES-CTR mask stream', () => {
  it('generates any range of words independently of where generation starts (fork rule)', () => {
    const seed = { seed: Uint8Array.from({ length: 16 }, (_, i) => i * 7), firstAesIndex: 5n, firstByteIndex: 8 };
    const whole = new Uint32Array(2 * 10_000);
    fillMaskWords(seed, 0, 10_000, whole);
    for (const [first, count] of [
      [0, 1],
      [1, 3],
      [8191, 2],
      [4095, 1500],
    ] as const) {
      const part = new Uint32Array(2 * count);
      fillMaskWords(seed, first, count, part);
      expect(Array.from(part)).toEqual(Array.from(whole.subarray(2 * first, 2 * (first + count))));
    }
  });
});
