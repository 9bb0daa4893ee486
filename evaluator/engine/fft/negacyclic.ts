/**
 * Negacyclic FFT over R[X]/(X^N + 1), the way tfhe-rs's `fft64` (tfhe-fft) represents
 * polynomials: a real polynomial a of size N is folded into N/2 complex points
 * b_j = (a_j + i·a_{j+N/2})·ψ^j with ψ = e^{iπ/N} (the "twist"), then transformed with a
 * size-N/2 complex DFT. The result holds a's values at the N/2 roots of X^N + 1 with
 * X^{N/2} = i (the other half are their conjugates), so the pointwise product of two transforms
 * is the transform of the negacyclic product.
 *
 * Forward is a radix-2 decimation-in-frequency pass (natural order in, bit-reversed out), backward
 * a decimation-in-time pass (bit-reversed in, natural out): pointwise products do not care about
 * the order, so no permutation is ever done. Complex values are kept split (real parts, imaginary
 * parts) in Float64Arrays. Twiddles are computed once per size.
 *
 * This module knows nothing of ciphertexts.
 */

export interface FftPlan {
  /** Polynomial size N. */
  readonly n: number;
  /** N/2 complex points. */
  readonly m: number;
  /** ψ^j = e^{iπj/N}, j < N/2. */
  readonly twistRe: Float64Array;
  readonly twistIm: Float64Array;
  /** Per-stage twiddles e^{−2πij/len} for len = M, M/2, …, 2 (j < len/2), concatenated. */
  readonly twRe: Float64Array;
  readonly twIm: Float64Array;
}

const plans = new Map<number, FftPlan>();

/** The (cached) plan for polynomial size `n`, a power of two ≥ 4. */
export function fftPlan(n: number): FftPlan {
  const hit = plans.get(n);
  if (hit) return hit;
  if (!Number.isInteger(n) || n < 4 || (n & (n - 1)) !== 0) throw new RangeError(`FFT size ${n} is not a power of two ≥ 4`);
  const m = n / 2;
  const twistRe = new Float64Array(m);
  const twistIm = new Float64Array(m);
  for (let j = 0; j < m; j++) {
    twistRe[j] = Math.cos((Math.PI * j) / n);
    twistIm[j] = Math.sin((Math.PI * j) / n);
  }
  const twRe = new Float64Array(Math.max(1, m - 1));
  const twIm = new Float64Array(Math.max(1, m - 1));
  let off = 0;
  for (let len = m; len >= 2; len >>= 1) {
    for (let j = 0; j < len / 2; j++) {
      twRe[off + j] = Math.cos((2 * Math.PI * j) / len);
      twIm[off + j] = -Math.sin((2 * Math.PI * j) / len);
    }
    off += len / 2;
  }
  const plan: FftPlan = { n, m, twistRe, twistIm, twRe, twIm };
  plans.set(n, plan);
  return plan;
}

/**
 * Forward negacyclic transform of the real polynomial `x` (N coefficients) into `re`/`im`
 * (N/2 values each, bit-reversed order).
 */
export function forwardNegacyclic(plan: FftPlan, x: ArrayLike<number>, re: Float64Array, im: Float64Array): void {
  const { m, twistRe, twistIm } = plan;
  for (let j = 0; j < m; j++) {
    const xr = x[j]!;
    const xi = x[j + m]!;
    const c = twistRe[j]!;
    const s = twistIm[j]!;
    re[j] = xr * c - xi * s;
    im[j] = xr * s + xi * c;
  }
  difInPlace(plan, re, im);
}

/** Decimation-in-frequency radix-2 DFT (sign −1), natural order in, bit-reversed order out. */
export function difInPlace(plan: FftPlan, re: Float64Array, im: Float64Array): void {
  const { m, twRe, twIm } = plan;
  let off = 0;
  for (let len = m; len >= 2; len >>= 1) {
    const half = len >> 1;
    for (let s = 0; s < m; s += len) {
      for (let j = 0; j < half; j++) {
        const a = s + j;
        const b = a + half;
        const ur = re[a]!;
        const ui = im[a]!;
        const vr = re[b]!;
        const vi = im[b]!;
        re[a] = ur + vr;
        im[a] = ui + vi;
        const dr = ur - vr;
        const di = ui - vi;
        const wr = twRe[off + j]!;
        const wi = twIm[off + j]!;
        re[b] = dr * wr - di * wi;
        im[b] = dr * wi + di * wr;
      }
    }
    off += half;
  }
}

/** Decimation-in-time radix-2 inverse DFT (sign +1, unscaled), bit-reversed order in, natural out. */
export function ditInPlace(plan: FftPlan, re: Float64Array, im: Float64Array): void {
  const { m, twRe, twIm } = plan;
  let off = m - 2; // the len = 2 stage's twiddles start here
  for (let len = 2; len <= m; len <<= 1) {
    const half = len >> 1;
    for (let s = 0; s < m; s += len) {
      for (let j = 0; j < half; j++) {
        const a = s + j;
        const b = a + half;
        const wr = twRe[off + j]!;
        const wi = -twIm[off + j]!; // conjugate
        const br = re[b]!;
        const bi = im[b]!;
        const vr = br * wr - bi * wi;
        const vi = br * wi + bi * wr;
        const ur = re[a]!;
        const ui = im[a]!;
        re[a] = ur + vr;
        im[a] = ui + vi;
        re[b] = ur - vr;
        im[b] = ui - vi;
      }
    }
    off -= len; // next stage (twice as long) has its twiddles `len` entries earlier
  }
}

/**
 * Backward negacyclic transform: `re`/`im` (bit-reversed, destroyed) back to the N real
 * coefficients in `x`, scaled by 1/(N/2) so that backward(forward(a)) = a.
 */
export function backwardNegacyclic(plan: FftPlan, re: Float64Array, im: Float64Array, x: Float64Array): void {
  ditInPlace(plan, re, im);
  const { m, twistRe, twistIm } = plan;
  const scale = 1 / m;
  for (let j = 0; j < m; j++) {
    const c = twistRe[j]! * scale;
    const s = -twistIm[j]! * scale;
    const r = re[j]!;
    const i = im[j]!;
    x[j] = r * c - i * s;
    x[j + m] = r * s + i * c;
  }
}
