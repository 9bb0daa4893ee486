/**
 * Fast blind rotation: same algorithm as `blind-rotate.ts` (tfhe-rs `blind_rotate_assign` with
 * the fft64 external product), with the accumulator kept as doubles instead of exact u64.
 *
 * Each accumulator coefficient is stored as its centred representative in [−2^63, 2^63) and
 * reduced after every update (x − 2^64·round(x/2^64)). A double keeps 53 bits, so the stored
 * value is within 2^10 of the true torus element; the decomposition only reads the top
 * pbs_base_log·pbs_level + 1 ≤ 53 bits and the FFT error is already ~2^40, so this adds no
 * measurable noise while removing every u64 ↔ double conversion from the loop. The twist of
 * the negacyclic transform is fused with the decomposition (forward) and with the accumulator
 * update (backward), and the radix-4 DFTs of `fft/radix4.ts` run in place on scratch arrays.
 */
import type { ShortintParameters } from '../params/parameters.ts';
import type { Radix4Plan } from '../fft/radix4.ts';
import { backwardDft, forwardDft, radix4Plan } from '../fft/radix4.ts';
import { TWO32, TWO64 } from '../entities/torus.ts';

const INV_TWO64 = 1 / TWO64;

export interface BlindRotateF64Scratch {
  readonly plan: Radix4Plan;
  /** Accumulator, (k+1)·N centred torus values (masks first, body last). */
  readonly acc: Float64Array;
  /** Fourier digits per (row r, level ℓ): M reals then M imaginaries each. */
  readonly fourierDigits: Float64Array;
  /** Fourier output per polynomial p: M reals then M imaginaries each. */
  readonly fourierOut: Float64Array;
  /** One level's digits of one coefficient pair (general pbs_level). */
  readonly digitsLo: Float64Array;
  readonly digitsHi: Float64Array;
}

export function blindRotateF64Scratch(params: ShortintParameters): BlindRotateF64Scratch {
  const { polynomialSize: N, glweDimension: k, pbsLevel: L } = params;
  return {
    plan: radix4Plan(N),
    acc: new Float64Array((k + 1) * N),
    fourierDigits: new Float64Array((k + 1) * L * N),
    fourierOut: new Float64Array((k + 1) * N),
    digitsLo: new Float64Array(L),
    digitsHi: new Float64Array(L),
  };
}

/**
 * Round half to even, like WebAssembly's `f64.nearest`, so this path and the wasm kernels give
 * bit-identical results (ties are frequent: accumulator values are multiples of ~2^37).
 */
export function nearest(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Centred double of the u64 word (lo, hi). */
function centred(lo: number, hi: number): number {
  return (hi | 0) * TWO32 + lo;
}

/**
 * Balanced base-2^β digits (least significant level first) of the top R = β·L bits of the
 * centred torus value x, written to `out[0..L)`.
 */
function decomposeCentred(x: number, baseLog: number, level: number, out: Float64Array): void {
  const shift = 2 ** -(64 - baseLog * level);
  const full = 2 ** (baseLog * level);
  let t = nearest(x * shift);
  t -= full * nearest(t / full);
  const base = 2 ** baseLog;
  for (let q = 0; q < level; q++) {
    const res = t - base * nearest(t / base);
    out[q] = res;
    t = (t - res) / base;
  }
}

/**
 * Blind-rotates the accumulator of `lutBody` (N u64 as u32 pairs) by `switched` (n masks then
 * the body, in [0, 2N)) using the Fourier bootstrap key; the result stays in `scratch.acc`.
 */
export function blindRotateF64(
  params: ShortintParameters,
  fourierBsk: Float64Array,
  switched: Uint32Array,
  lutBody: Uint32Array,
  scratch: BlindRotateF64Scratch,
): void {
  const { polynomialSize: N, glweDimension: k, lweDimension: n, pbsBaseLog: beta, pbsLevel: L } = params;
  const { plan, acc, fourierDigits: fd, fourierOut: fo, digitsLo, digitsHi } = scratch;
  const M = N / 2;
  const { twistRe, twistIm, untwistRe, untwistIm } = plan;
  const single = L === 1;
  const digitScale = 2 ** -(64 - beta); // level 1: digit = round(x / 2^(64−β)) centred mod 2^β
  const base = 2 ** beta;
  const invBase = 1 / base;

  initAccumulator(params, lutBody, switched[n]!, acc);

  const rowStride = (k + 1) * N; // Fourier BSK: one row = k+1 polynomials of N doubles
  const ggswStride = L * (k + 1) * rowStride;
  for (let i = 0; i < n; i++) {
    const a = switched[i]!;
    if (a === 0) continue;
    const shiftBy = a % N;
    const sign = a >= N ? -1 : 1;
    // T_r = ACC_r·X^a − ACC_r, decomposed; digits of coefficients j and j+M form complex point j, twisted.
    for (let r = 0; r <= k; r++) {
      const p0 = r * N;
      for (let j = 0; j < M; j++) {
        const c1 = j;
        const c2 = j + M;
        const s1 = c1 - shiftBy;
        const s2 = c2 - shiftBy;
        const rot1 = sign * (s1 >= 0 ? acc[p0 + s1]! : -acc[p0 + s1 + N]!);
        const rot2 = sign * (s2 >= 0 ? acc[p0 + s2]! : -acc[p0 + s2 + N]!);
        const t1 = rot1 - acc[p0 + c1]!;
        const t2 = rot2 - acc[p0 + c2]!;
        const tr = twistRe[j]!;
        const ti = twistIm[j]!;
        if (single) {
          let d1 = nearest(t1 * digitScale);
          d1 -= base * nearest(d1 * invBase);
          let d2 = nearest(t2 * digitScale);
          d2 -= base * nearest(d2 * invBase);
          const f = r * N;
          fd[f + j] = d1 * tr - d2 * ti;
          fd[f + M + j] = d1 * ti + d2 * tr;
        } else {
          decomposeCentred(t1, beta, L, digitsLo);
          decomposeCentred(t2, beta, L, digitsHi);
          for (let l = 0; l < L; l++) {
            const f = (r * L + l) * N;
            const d1 = digitsLo[l]!;
            const d2 = digitsHi[l]!;
            fd[f + j] = d1 * tr - d2 * ti;
            fd[f + M + j] = d1 * ti + d2 * tr;
          }
        }
      }
      for (let l = 0; l < L; l++) {
        const f = (r * L + l) * N;
        forwardDft(plan, fd, f, f + M);
      }
    }
    // Multiply-accumulate against GGSW(s_i).
    fo.fill(0);
    const g0 = i * ggswStride;
    for (let l = 0; l < L; l++) {
      for (let r = 0; r <= k; r++) {
        const f = (r * L + l) * N;
        const g = g0 + (l * (k + 1) + r) * rowStride;
        for (let p = 0; p <= k; p++) {
          const b = g + p * N;
          const o = p * N;
          for (let j = 0; j < M; j++) {
            const dr = fd[f + j]!;
            const di = fd[f + M + j]!;
            const br = fourierBsk[b + j]!;
            const bi = fourierBsk[b + M + j]!;
            fo[o + j] = fo[o + j]! + (dr * br - di * bi);
            fo[o + M + j] = fo[o + M + j]! + (dr * bi + di * br);
          }
        }
      }
    }
    // Back to coefficients (untwist fused), accumulate, reduce to the centred range.
    for (let p = 0; p <= k; p++) {
      const o = p * N;
      backwardDft(plan, fo, o, o + M);
      for (let j = 0; j < M; j++) {
        const yr = fo[o + j]!;
        const yi = fo[o + M + j]!;
        const ur = untwistRe[j]!;
        const ui = untwistIm[j]!;
        let x1 = acc[o + j]! + (yr * ur - yi * ui);
        let x2 = acc[o + M + j]! + (yr * ui + yi * ur);
        x1 -= TWO64 * nearest(x1 * INV_TWO64);
        x2 -= TWO64 * nearest(x2 * INV_TWO64);
        acc[o + j] = x1;
        acc[o + M + j] = x2;
      }
    }
  }
}

/** ACC = (0, …, 0, LUT·X^(−b̃)) as centred doubles, b̃ the switched body in [0, 2N). */
export function initAccumulator(params: ShortintParameters, lutBody: Uint32Array, bTilde: number, acc: Float64Array): void {
  const { polynomialSize: N, glweDimension: k } = params;
  acc.fill(0, 0, k * N);
  const d = (2 * N - bTilde) % (2 * N);
  const shiftBy = d % N;
  const sign = d >= N ? -1 : 1;
  const body = k * N;
  for (let c = 0; c < N; c++) {
    const s = c - shiftBy;
    const v = s >= 0 ? centred(lutBody[2 * s]!, lutBody[2 * s + 1]!) : -centred(lutBody[2 * (s + N)]!, lutBody[2 * (s + N) + 1]!);
    acc[body + c] = sign * v;
  }
}

/** Sample extraction of coefficient 0 of the double accumulator into `out` (u32 pairs, big key). */
export function sampleExtractF64(params: ShortintParameters, acc: Float64Array, out: Uint32Array): void {
  const { polynomialSize: N, glweDimension: k } = params;
  const put = (w: number, x: number) => {
    const v = Math.round(x);
    const hi = Math.floor(v / TWO32);
    out[2 * w] = v - hi * TWO32;
    out[2 * w + 1] = hi;
  };
  for (let r = 0; r < k; r++) {
    const base = r * N;
    put(base, acc[base]!);
    // a[r·N + j] = −A_r[N − j]
    for (let j = 1; j < N; j++) put(base + j, -acc[base + N - j]!);
  }
  put(k * N, acc[k * N]!);
}
