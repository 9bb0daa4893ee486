/**
 * Blind rotation and sample extraction (tfhe-rs `fft_impl::fft64::crypto::bootstrap`,
 * `blind_rotate_assign` + `extract_lwe_sample_from_glwe_ciphertext`), reference implementation
 * on exact u64 accumulators:
 *
 *   ACC ← LUT·X^(−b̃)
 *   for i < n with ã_i ≠ 0:  ACC ← ACC + GGSW(s_i) ⊡ (ACC·X^(ã_i) − ACC)        (CMux)
 *   out ← coefficient 0 of ACC as an LWE under the big key
 *
 * The external product ⊡ decomposes each polynomial of its GLWE operand (signed gadget
 * decomposition, base 2^pbs_base_log, pbs_level levels), transforms the digit polynomials with
 * the negacyclic FFT, multiplies-accumulates them against the Fourier bootstrap key, and
 * transforms back; the f64 result is reduced mod 2^64 and added to the u64 accumulator.
 */
import type { ShortintParameters } from '../params/parameters.ts';
import { backwardNegacyclic, fftPlan, forwardNegacyclic } from '../fft/negacyclic.ts';
import type { FftPlan } from '../fft/negacyclic.ts';
import { decomposeWord } from './decomposition.ts';
import { TWO32, TWO64 } from '../entities/torus.ts';

export interface BlindRotateScratch {
  readonly plan: FftPlan;
  /** Accumulator GLWE, (k+1)·N u64 as low/high halves (masks first, body last). */
  readonly accLo: Uint32Array;
  readonly accHi: Uint32Array;
  /** Digit polynomials of one level: pbs_level·N reals. */
  readonly digits: Float64Array;
  /** Fourier digits for every (row r, level ℓ): (k+1)·L·N doubles (re then im per polynomial). */
  readonly fourierDigits: Float64Array;
  /** Fourier output accumulators, one per output polynomial: (k+1)·N doubles. */
  readonly fourierOut: Float64Array;
  /** One polynomial back in the coefficient domain: N reals. */
  readonly real: Float64Array;
  readonly levelDigits: Int32Array;
}

export function blindRotateScratch(params: ShortintParameters): BlindRotateScratch {
  const { polynomialSize: N, glweDimension: k, pbsLevel: L } = params;
  return {
    plan: fftPlan(N),
    accLo: new Uint32Array((k + 1) * N),
    accHi: new Uint32Array((k + 1) * N),
    digits: new Float64Array(L * N),
    fourierDigits: new Float64Array((k + 1) * L * N),
    fourierOut: new Float64Array((k + 1) * N),
    real: new Float64Array(N),
    levelDigits: new Int32Array(L),
  };
}

/** Index of polynomial p of row r, level ℓ, GGSW i in the Fourier bootstrap key. */
export function fourierBskOffset(params: ShortintParameters, i: number, level: number, row: number, poly: number): number {
  const { glweDimension: k, pbsLevel: L, polynomialSize: N } = params;
  return (((i * L + level) * (k + 1) + row) * (k + 1) + poly) * N;
}

/**
 * Blind-rotates the trivial accumulator of `lutBody` (N u64 as u32 pairs) by the switched
 * ciphertext `switched` (n masks then body, values in [0, 2N)), leaving the result in
 * `scratch.accLo/accHi`.
 */
export function blindRotate(
  params: ShortintParameters,
  fourierBsk: Float64Array,
  switched: Uint32Array,
  lutBody: Uint32Array,
  scratch: BlindRotateScratch,
): void {
  const { polynomialSize: N, glweDimension: k, lweDimension: n, pbsBaseLog, pbsLevel: L } = params;
  const { plan, accLo, accHi, digits, fourierDigits, fourierOut, real, levelDigits } = scratch;
  const M = N / 2;
  // ACC = (0, …, 0, LUT·X^(−b̃)).
  accLo.fill(0, 0, k * N);
  accHi.fill(0, 0, k * N);
  rotateInto(lutBody, 2 * N - switched[n]!, N, accLo, accHi, k * N);

  for (let i = 0; i < n; i++) {
    const a = switched[i]!;
    if (a === 0) continue;
    // Decompose and transform every polynomial of T = ACC·X^a − ACC.
    for (let r = 0; r <= k; r++) {
      const base = r * N;
      for (let c = 0; c < N; c++) {
        // Coefficient c of X^a·ACC_r (negacyclic: wrapping past N flips the sign).
        const src = monomialSource(c, a, N);
        const negate = src < 0;
        let rlo = accLo[base + (negate ? ~src : src)]!;
        let rhi = accHi[base + (negate ? ~src : src)]!;
        if (negate) {
          rhi = (~rhi + (rlo === 0 ? 1 : 0)) >>> 0;
          rlo = (TWO32 - rlo) % TWO32;
        }
        // T = rotated − ACC (mod 2^64).
        const lo0 = accLo[base + c]!;
        const tlo = rlo - lo0;
        const tloWrapped = tlo < 0 ? tlo + TWO32 : tlo;
        const thi = (rhi - accHi[base + c]! - (tlo < 0 ? 1 : 0)) >>> 0;
        decomposeWord(tloWrapped, thi, pbsBaseLog, L, levelDigits, 0);
        for (let l = 0; l < L; l++) digits[l * N + c] = levelDigits[l]!;
      }
      for (let l = 0; l < L; l++) {
        const f = (r * L + l) * N;
        forwardNegacyclic(plan, digits.subarray(l * N, (l + 1) * N), fourierDigits, f, f + M);
      }
    }
    // Multiply-accumulate against GGSW(s_i) in the Fourier domain.
    fourierOut.fill(0);
    for (let l = 0; l < L; l++) {
      for (let r = 0; r <= k; r++) {
        const f = (r * L + l) * N;
        for (let p = 0; p <= k; p++) {
          const g = fourierBskOffset(params, i, l, r, p);
          const o = p * N;
          for (let j = 0; j < M; j++) {
            const dr = fourierDigits[f + j]!;
            const di = fourierDigits[f + M + j]!;
            const br = fourierBsk[g + j]!;
            const bi = fourierBsk[g + M + j]!;
            fourierOut[o + j] = fourierOut[o + j]! + dr * br - di * bi;
            fourierOut[o + M + j] = fourierOut[o + M + j]! + dr * bi + di * br;
          }
        }
      }
    }
    // Back to coefficients, reduce mod 2^64, add to ACC.
    for (let p = 0; p <= k; p++) {
      const o = p * N;
      backwardNegacyclic(plan, fourierOut, o, o + M, real);
      for (let c = 0; c < N; c++) {
        let y = real[c]!;
        y = Math.round(y - TWO64 * Math.round(y / TWO64));
        const hi = Math.floor(y / TWO32);
        const lo = y - hi * TWO32;
        const sLo = accLo[o + c]! + lo;
        accLo[o + c] = sLo;
        accHi[o + c] = accHi[o + c]! + hi + (sLo >= TWO32 ? 1 : 0);
      }
    }
  }
}

/**
 * Where coefficient c of P·X^d (d in [0, 2N)) comes from: the source index, or its bitwise
 * complement (~index, negative) when the coefficient is negated by the negacyclic wrap.
 */
function monomialSource(c: number, d: number, N: number): number {
  let src = c - (d % N);
  let negate = d >= N;
  if (src < 0) {
    src += N;
    negate = !negate;
  }
  return negate ? ~src : src;
}

/**
 * Writes P·X^d (negacyclic, d in [0, 2N)) of the u32-pair polynomial `src` into the low/high
 * arrays at `offset`.
 */
function rotateInto(src: Uint32Array, d: number, N: number, lo: Uint32Array, hi: Uint32Array, offset: number): void {
  for (let c = 0; c < N; c++) {
    const from = monomialSource(c, d % (2 * N), N);
    const negate = from < 0;
    const s = negate ? ~from : from;
    const l = src[2 * s]!;
    const h = src[2 * s + 1]!;
    if (negate) {
      lo[offset + c] = (TWO32 - l) % TWO32;
      hi[offset + c] = (~h + (l === 0 ? 1 : 0)) >>> 0;
    } else {
      lo[offset + c] = l;
      hi[offset + c] = h;
    }
  }
}

/**
 * Sample extraction of coefficient 0 of the accumulator as an LWE under the big key
 * (k·N mask words, then the body), into `out` (u32 pairs).
 */
export function sampleExtract(params: ShortintParameters, accLo: Uint32Array, accHi: Uint32Array, out: Uint32Array): void {
  const { polynomialSize: N, glweDimension: k } = params;
  for (let r = 0; r < k; r++) {
    const base = r * N;
    out[2 * base] = accLo[base]!;
    out[2 * base + 1] = accHi[base]!;
    for (let j = 1; j < N; j++) {
      // a[r·N + j] = −A_r[N − j]
      const l = accLo[base + N - j]!;
      const h = accHi[base + N - j]!;
      out[2 * (base + j)] = (TWO32 - l) % TWO32;
      out[2 * (base + j) + 1] = (~h + (l === 0 ? 1 : 0)) >>> 0;
    }
  }
  out[2 * k * N] = accLo[k * N]!;
  out[2 * k * N + 1] = accHi[k * N]!;
}
