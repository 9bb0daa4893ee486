/**
 * Noise audit of the bootstrap, for tests and benchmarks that hold the client key's secret bits
 * (never used by the engine itself): it decrypts the blind rotation's accumulator GLWE with the
 * GLWE secret key and compares every coefficient with the ideal, noiseless accumulator
 * X^(−φ̃)·v (v the lookup table, φ̃ = b̃ − Σ ã_i·s_i mod 2N the modulus-switched phase computed
 * with the small secret key). Coefficient 0 is the noise of the PBS output (sample extraction is
 * exact); the N coefficients are N samples of the same distribution, so a few bootstraps already
 * give a variance to a few percent. The paths differ only in how the blind rotation rounds
 * (FFT in f64, fused or separate multiply-adds), which is what the audit measures:
 *
 * - `reference`: the exact-u64 accumulator (`blind-rotate.ts`), whose only FFT error is in the
 *   product with the key's integer-valued digits (tfhe-rs's own algorithm);
 * - `typescript`: the double accumulator (`blind-rotate-f64.ts`), bit-identical to `plain`;
 * - `plain`, `relaxed`: the WebAssembly kernels, without and with fused multiply-adds.
 *
 * Also the noise right before a blind rotation (`switchedPhaseError`: keyswitch + modulus switch
 * of a ciphertext with a known plaintext, in units of 1/2N), and the failure probability of a
 * Gaussian with a given standard deviation against the decoding margin.
 *
 * Phases are computed in doubles: values are centred (|x| ≤ 2^63) and the sums' rounding
 * (≲ 2^22) is far below the measured noise (≳ 2^40).
 */
import type { Ciphertext } from '../entities/ciphertext.ts';
import type { LookupTable } from '../entities/lookup-table.ts';
import type { ServerKey } from '../entities/server-key.ts';
import { kernelVariant, selectKernelVariant, type KernelVariant } from '../wasm/kernels.ts';
import { blindRotate, blindRotateScratch } from './blind-rotate.ts';
import { blindRotateF64, blindRotateF64Scratch } from './blind-rotate-f64.ts';
import { keyswitchLweCiphertext, keyswitchScratch } from './keyswitch.ts';
import { modulusSwitchForBlindRotation } from './modulus-switch.ts';
import { bootstrapSmallWasm, keyswitchWasm, wasmAccumulator } from './pbs-wasm.ts';
import { TWO32, TWO64 } from '../entities/torus.ts';

export type BlindRotationPath = 'reference' | 'typescript' | KernelVariant;

/** The client key's secret bits (one byte per bit). */
export interface SecretKeyBits {
  /** The GLWE key, k·N bits (polynomial r at r·N). */
  readonly glweKey: Uint8Array;
  /** The small LWE key, n bits. */
  readonly lweKey: Uint8Array;
}

/** The u64 word w of a u32-pair array as a centred double in [−2^63, 2^63]. */
function centredWord(data: Uint32Array, w: number): number {
  const x = data[2 * w]! + data[2 * w + 1]! * TWO32;
  return x >= 2 ** 63 ? x - TWO64 : x;
}

/** x reduced mod 2^64 into [−2^63, 2^63]. */
function centre64(x: number): number {
  return x - TWO64 * Math.round(x / TWO64);
}

/**
 * Keyswitch on this thread's kernel variant (exact on `plain` and the TypeScript path, the KSK's
 * high halves on `relaxed`), as the bootstrap does it.
 */
function keyswitched(key: ServerKey, ct: Ciphertext): Uint32Array {
  const p = key.params;
  let small = keyswitchWasm(key, ct.data)?.slice();
  if (small === undefined) {
    small = new Uint32Array(2 * (p.lweDimension + 1));
    keyswitchLweCiphertext(p, key.keyswitchKeyLo, key.keyswitchKeyHi, ct.data, small, keyswitchScratch(p));
  }
  return small;
}

/** Keyswitch ({@link keyswitched}) then modulus switch: the n+1 values in [0, 2N). */
function switchedValues(key: ServerKey, ct: Ciphertext): { small: Uint32Array; switched: Uint32Array } {
  const p = key.params;
  const small = keyswitched(key, ct);
  const switched = new Uint32Array(p.lweDimension + 1);
  modulusSwitchForBlindRotation(p, key.modulusSwitchZeros, small.slice(), switched);
  return { small, switched };
}

/** φ̃ = b̃ − Σ ã_i·s_i mod 2N. */
function switchedPhase(switched: Uint32Array, lweKey: Uint8Array, twoN: number): number {
  const n = lweKey.length;
  let phase = switched[n]!;
  for (let i = 0; i < n; i++) if (lweKey[i]) phase -= switched[i]!;
  return ((phase % twoN) + twoN) % twoN;
}

/**
 * The blind rotation accumulator's noise, one value per coefficient (torus units: 2^64 is one
 * turn), for bootstrapping `ct` with `lut` on `path`. Coefficient 0 is the PBS output's noise.
 */
export function blindRotationNoise(
  key: ServerKey,
  ct: Ciphertext,
  lut: LookupTable,
  path: BlindRotationPath,
  secrets: SecretKeyBits,
): Float64Array {
  const p = key.params;
  const { polynomialSize: N, glweDimension: k } = p;
  const { small, switched } = switchedValues(key, ct);
  // acc: (k+1)·N centred doubles, masks first, body last.
  let acc: Float64Array;
  if (path === 'reference') {
    const s = blindRotateScratch(p);
    blindRotate(p, key.fourierBootstrapKey, switched, lut.body, s);
    acc = new Float64Array((k + 1) * N);
    const words = new Uint32Array(2);
    for (let j = 0; j < acc.length; j++) {
      words[0] = s.accLo[j]!;
      words[1] = s.accHi[j]!;
      acc[j] = centredWord(words, 0);
    }
  } else if (path === 'typescript') {
    const s = blindRotateF64Scratch(p);
    blindRotateF64(p, key.fourierBootstrapKey, switched, lut.body, s);
    acc = s.acc;
  } else {
    const before = kernelVariant();
    if (!selectKernelVariant(path)) throw new Error(`the ${path} kernels are unavailable in this runtime`);
    try {
      const out = new Uint32Array(2 * (k * N + 1));
      if (!bootstrapSmallWasm(key, small, lut.body, out)) throw new Error('the wasm path is unavailable for this key');
      acc = Float64Array.from(wasmAccumulator(key)!);
    } finally {
      selectKernelVariant(before);
    }
  }
  // Ideal body: X^(−φ̃)·v.
  const d = (2 * N - switchedPhase(switched, secrets.lweKey, 2 * N)) % (2 * N);
  const phase = Float64Array.from(acc.subarray(k * N, (k + 1) * N));
  for (let r = 0; r < k; r++) {
    const a = acc.subarray(r * N, (r + 1) * N);
    // phase −= A_r·S_r (negacyclic): for each secret bit i, A_r·X^i.
    for (let i = 0; i < N; i++) {
      if (!secrets.glweKey[r * N + i]) continue;
      for (let j = i; j < N; j++) phase[j] = phase[j]! - a[j - i]!;
      for (let j = 0; j < i; j++) phase[j] = phase[j]! + a[j - i + N]!;
    }
  }
  const noise = new Float64Array(N);
  for (let c = 0; c < N; c++) {
    let t = c - d;
    let sign = 1;
    while (t < 0) {
      t += N;
      sign = -sign;
    }
    noise[c] = centre64(phase[c]! - sign * centredWord(lut.body, t));
  }
  return noise;
}

/**
 * The error, in units of 1/2N of a turn, of `ct`'s phase right before blind rotation
 * (after keyswitch and modulus switch) against `plaintext` (the u64 it encrypts, e.g. m·Δ):
 * the input noise plus what the keyswitch and the modulus switch add.
 */
export function switchedPhaseError(key: ServerKey, ct: Ciphertext, plaintext: bigint, secrets: SecretKeyBits): number {
  const twoN = 2 * key.params.polynomialSize;
  const { switched } = switchedValues(key, ct);
  const e = switchedPhase(switched, secrets.lweKey, twoN) - (Number(BigInt.asUintN(64, plaintext)) / TWO64) * twoN;
  return e - twoN * Math.round(e / twoN);
}

/**
 * The error, in torus units (2^64 a turn), of `ct`'s phase right after the keyswitch (this
 * thread's kernel variant) against `plaintext`: the input noise plus what the keyswitch adds.
 */
export function keyswitchedPhaseError(key: ServerKey, ct: Ciphertext, plaintext: bigint, secrets: SecretKeyBits): number {
  const small = keyswitched(key, ct);
  const n = key.params.lweDimension;
  let phase = centredWord(small, n);
  for (let i = 0; i < n; i++) if (secrets.lweKey[i]) phase -= centredWord(small, i);
  return centre64(phase - centre64(Number(BigInt.asIntN(64, plaintext))));
}

/**
 * log2 P(|X| > margin) for X ~ N(0, σ²): log2 erfc(margin / (σ√2)), with the Chebyshev-fitted
 * erfc of Numerical Recipes (relative error < 1.2·10⁻⁷ everywhere), evaluated as a logarithm so
 * that tails far below 2^−1000 stay finite.
 */
export function log2GaussianTail(margin: number, sigma: number): number {
  const x = margin / (sigma * Math.SQRT2);
  const t = 1 / (1 + 0.5 * x);
  const poly =
    -1.26551223 +
    t *
      (1.00002368 +
        t *
          (0.37409196 +
            t *
              (0.09678418 +
                t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  return (Math.log(t) - x * x + poly) / Math.LN2;
}

/** Mean and variance (unbiased) of the samples. */
export function sampleVariance(xs: ArrayLike<number>): { mean: number; variance: number } {
  let mean = 0;
  for (let i = 0; i < xs.length; i++) mean += xs[i]!;
  mean /= xs.length;
  let ss = 0;
  for (let i = 0; i < xs.length; i++) ss += (xs[i]! - mean) ** 2;
  return { mean, variance: ss / (xs.length - 1) };
}
