/**
 * Negacyclic FFT over R[X]/(X^N + 1), the way tfhe-rs's `fft64` (tfhe-fft) represents
 * polynomials: a real polynomial a of size N is folded into N/2 complex points
 * b_j = (a_j + i·a_{j+N/2})·ψ^j with ψ = e^{iπ/N} (the "twist"), then transformed with a
 * size-N/2 complex DFT. The result holds a's values at the N/2 roots of X^N + 1 with
 * X^{N/2} = i (the other half are their conjugates), so the pointwise product of two transforms
 * is the transform of the negacyclic product.
 *
 * The DFT is `radix4.ts` (digit-reversed order in the Fourier domain). Every Fourier-domain
 * array of the engine (the bootstrap key included) uses this one order.
 *
 * This module knows nothing of ciphertexts.
 */
import type { Radix4Plan } from './radix4.ts';
import { backwardDft, forwardDft, radix4Plan } from './radix4.ts';

export type FftPlan = Radix4Plan;

/** The (cached) plan for polynomial size `n`, a power of two ≥ 8. */
export function fftPlan(n: number): FftPlan {
  return radix4Plan(n);
}

/**
 * Forward transform of the real polynomial `x` (N coefficients) into `out`: the N/2 real parts
 * at `out[ro …]`, the N/2 imaginary parts at `out[io …]`.
 */
export function forwardNegacyclic(plan: FftPlan, x: ArrayLike<number>, out: Float64Array, ro: number, io: number): void {
  const { m, twistRe, twistIm } = plan;
  for (let j = 0; j < m; j++) {
    const xr = x[j]!;
    const xi = x[j + m]!;
    const c = twistRe[j]!;
    const s = twistIm[j]!;
    out[ro + j] = xr * c - xi * s;
    out[io + j] = xr * s + xi * c;
  }
  forwardDft(plan, out, ro, io);
}

/**
 * Backward transform of the Fourier values at `f[ro …]` / `f[io …]` (destroyed) into the N real
 * coefficients `x`, scaled so that backward(forward(a)) = a.
 */
export function backwardNegacyclic(plan: FftPlan, f: Float64Array, ro: number, io: number, x: Float64Array): void {
  backwardDft(plan, f, ro, io);
  const { m, untwistRe, untwistIm } = plan;
  for (let j = 0; j < m; j++) {
    const c = untwistRe[j]!;
    const s = untwistIm[j]!;
    const r = f[ro + j]!;
    const i = f[io + j]!;
    x[j] = r * c - i * s;
    x[j + m] = r * s + i * c;
  }
}
