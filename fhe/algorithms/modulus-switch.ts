/**
 * Modulus switch of the keyswitched LWE (modulus 2^64, small key) to modulus 2N, the input of the
 * blind rotation (tfhe-rs `core_crypto::algorithms::modulus_switch` and
 * `modulus_switch_noise_reduction`), with the noise-reduction step the key's parameters require:
 *
 * - standard: every word rounded, ms(x) = ⌊(x + 2^(63−m)) / 2^(64−m)⌉ mod 2N, m = log2(2N);
 * - centered mean (`lwe_ciphertext_centered_binary_modulus_switch`): the body gets
 *   +½·Σ(mask rounding errors) − ½ step before rounding, cancelling the mean error of a binary key;
 * - drift technique (eprint 2024/1718, `improve_lwe_ciphertext_modulus_switch_noise_for_binary_key`):
 *   one of the key's encryptions of zero is added when that brings the estimated switch noise
 *   |E| + r·σ under the bound, then the standard rounding applies.
 *
 * Only the top bits of each word matter: with m ≤ 31 the rounding constant lies in the high half,
 * and the rounding error (|ε| ≤ 2^(63−m) ≤ 2^52) is exact as a double.
 */
import type { ShortintParameters } from '../params/parameters.ts';
import { TWO32 } from '../entities/torus.ts';

/** log2(2N). */
export function modulusSwitchLog(params: ShortintParameters): number {
  return Math.log2(2 * params.polynomialSize);
}

/** ms(x) for the word (lo, hi): the top m bits of x + 2^(63−m). */
function ms(hi: number, m: number): number {
  return ((hi + 2 ** (31 - m)) >>> 0) >>> (32 - m);
}

/** x mod 2^(64−m) as an exact double. */
function lowBits(lo: number, hi: number, m: number): number {
  return (hi & ((1 << (32 - m)) - 1)) * TWO32 + lo;
}

/** Signed rounding error ε = (ms(x)·2^(64−m)) − x, from x's low 64−m bits. */
function roundingError(low: number, m: number): number {
  return low >= 2 ** (63 - m) ? 2 ** (64 - m) - low : -low;
}

/** Standard modulus switch of every word of `lwe` (u32 pairs) into `out`. */
export function standardModulusSwitch(lwe: Uint32Array, m: number, out: Uint32Array): void {
  const words = lwe.length / 2;
  for (let i = 0; i < words; i++) out[i] = ms(lwe[2 * i + 1]!, m);
}

/**
 * Centered-mean modulus switch: masks as in the standard switch, body switched after adding
 * Σ trunc(ε_i/2) − trunc(Σ(2·trunc(ε_i/2) − ε_i)/2) − 2^(63−m) (wrapping), exactly as tfhe-rs.
 */
export function centeredMeanModulusSwitch(lwe: Uint32Array, m: number, out: Uint32Array): void {
  const n = lwe.length / 2 - 1;
  // Σ half-errors mod 2^64 kept exact as a high part (multiples of 2^32) and a low part.
  let sumHalfLow = 0;
  let sumHalfHigh = 0;
  let sumOdd = 0;
  for (let i = 0; i < n; i++) {
    const lo = lwe[2 * i]!;
    const hi = lwe[2 * i + 1]!;
    out[i] = ms(hi, m);
    const err = roundingError(lowBits(lo, hi, m), m);
    const half = Math.trunc(err / 2);
    sumOdd += 2 * half - err;
    const q = Math.floor(half / TWO32);
    sumHalfHigh += q;
    sumHalfLow += half - q * TWO32;
  }
  const sumHalf = BigInt(sumHalfHigh) * 4294967296n + BigInt(sumHalfLow);
  const correction = sumHalf - BigInt(Math.trunc(sumOdd / 2)) - (1n << BigInt(63 - m));
  const body = BigInt(lwe[2 * n]!) + (BigInt(lwe[2 * n + 1]!) << 32n);
  const corrected = BigInt.asUintN(64, body + correction);
  out[n] = ms(Number(corrected >> 32n), m);
}

/**
 * Drift-technique noise measure of (mask, body), where each word is given by its low 64−m bits:
 * |ε(b) − Σε(a)/2| + r·sqrt(Σε(a)²/4 + input variance), summed in tfhe-rs's order.
 */
function driftMeasure(
  lwe: Uint32Array,
  zeros: Uint32Array | null,
  zeroOffset: number,
  n: number,
  m: number,
  rSigma: number,
  inputVariance: number,
): number {
  const mod = 2 ** (64 - m);
  let sumErr = 0;
  let sumSq = 0;
  for (let i = 0; i < n; i++) {
    let low = lowBits(lwe[2 * i]!, lwe[2 * i + 1]!, m);
    if (zeros) {
      low += lowBits(zeros[zeroOffset + 2 * i]!, zeros[zeroOffset + 2 * i + 1]!, m);
      if (low >= mod) low -= mod;
    }
    const e = roundingError(low, m);
    sumErr += e;
    sumSq += e * e;
  }
  let lowB = lowBits(lwe[2 * n]!, lwe[2 * n + 1]!, m);
  if (zeros) {
    lowB += lowBits(zeros[zeroOffset + 2 * n]!, zeros[zeroOffset + 2 * n + 1]!, m);
    if (lowB >= mod) lowB -= mod;
  }
  const expectancy = roundingError(lowB, m) - sumErr / 2;
  const variance = sumSq / 4;
  return Math.abs(expectancy) + Math.sqrt(variance + inputVariance) * rSigma;
}

/**
 * Drift technique: picks the encryption of zero to add (or none) with tfhe-rs's rule (first
 * candidate under the bound, else the best seen), adds it to `lwe` in place, and returns its
 * index or −1.
 */
export function applyDriftTechnique(
  lwe: Uint32Array,
  zeros: Uint32Array,
  config: { zerosCount: number; msBound: number; msRSigmaFactor: number; msInputVariance: number },
  m: number,
): number {
  const n = lwe.length / 2 - 1;
  const size = 2 * (n + 1);
  // tfhe-rs converts the variance (a fraction of q²) to the modular scale with q = 2^64.
  const inputVariance = config.msInputVariance * 2 ** 64 * 2 ** 64;
  let best = driftMeasure(lwe, null, 0, n, m, config.msRSigmaFactor, inputVariance);
  if (best <= config.msBound) return -1;
  let choice = -1;
  for (let t = 0; t < config.zerosCount; t++) {
    const v = driftMeasure(lwe, zeros, t * size, n, m, config.msRSigmaFactor, inputVariance);
    if (v < best) {
      best = v;
      choice = t;
    }
    if (v <= config.msBound) break;
  }
  if (choice >= 0) {
    const off = choice * size;
    for (let i = 0; i <= n; i++) {
      const lo = lwe[2 * i]! + zeros[off + 2 * i]!;
      lwe[2 * i] = lo;
      lwe[2 * i + 1] = lwe[2 * i + 1]! + zeros[off + 2 * i + 1]! + (lo >= TWO32 ? 1 : 0);
    }
  }
  return choice;
}

/**
 * Switches the keyswitched ciphertext `lwe` (n+1 words as u32 pairs; modified in place by the
 * drift technique) to the n+1 values in [0, 2N) the blind rotation consumes.
 */
export function modulusSwitchForBlindRotation(
  params: ShortintParameters,
  zeros: Uint32Array | null,
  lwe: Uint32Array,
  out: Uint32Array,
): void {
  const m = modulusSwitchLog(params);
  const config = params.modulusSwitch;
  switch (config.kind) {
    case 'standard':
      standardModulusSwitch(lwe, m, out);
      return;
    case 'centered_mean':
      centeredMeanModulusSwitch(lwe, m, out);
      return;
    case 'drift':
      if (!zeros) throw new Error('drift-technique key without its encryptions of zero');
      applyDriftTechnique(lwe, zeros, config, m);
      standardModulusSwitch(lwe, m, out);
      return;
  }
}
