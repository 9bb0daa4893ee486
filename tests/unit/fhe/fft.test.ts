import { describe, expect, it } from 'vitest';
import { backwardNegacyclic, fftPlan, forwardNegacyclic } from '../../../fhe/fft/negacyclic.ts';
import { seededRandom } from './support.ts';

/** Schoolbook product in Z[X]/(X^N + 1), exact with bigints. */
function negacyclicNaive(a: readonly number[], b: readonly number[]): bigint[] {
  const n = a.length;
  const out = new Array<bigint>(n).fill(0n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const p = BigInt(a[i]!) * BigInt(b[j]!);
      if (i + j < n) out[i + j]! += p;
      else out[i + j - n]! -= p;
    }
  }
  return out;
}

function fftProduct(a: readonly number[], b: readonly number[]): Float64Array {
  const n = a.length;
  const plan = fftPlan(n);
  const fa = new Float64Array(n);
  const fb = new Float64Array(n);
  forwardNegacyclic(plan, a, fa, 0, n / 2);
  forwardNegacyclic(plan, b, fb, 0, n / 2);
  const m = n / 2;
  const prod = new Float64Array(n);
  for (let j = 0; j < m; j++) {
    prod[j] = fa[j]! * fb[j]! - fa[m + j]! * fb[m + j]!;
    prod[m + j] = fa[j]! * fb[m + j]! + fa[m + j]! * fb[j]!;
  }
  const out = new Float64Array(n);
  backwardNegacyclic(plan, prod, 0, m, out);
  return out;
}

describe('negacyclic FFT', () => {
  it('multiplies exactly like the schoolbook negacyclic product for small operands (sizes 8 … 1024)', () => {
    const rng = seededRandom(1);
    for (const n of [8, 16, 32, 64, 128, 256, 512, 1024]) {
      const a = Array.from({ length: n }, () => Math.floor(rng() * 2001) - 1000);
      const b = Array.from({ length: n }, () => Math.floor(rng() * 2001) - 1000);
      const want = negacyclicNaive(a, b);
      const got = fftProduct(a, b);
      for (let i = 0; i < n; i++) expect(Math.round(got[i]!), `n=${n} coefficient ${i}`).toBe(Number(want[i]));
    }
  });

  it('keeps the error of a PBS-sized product (2^22 digits × 2^63 torus, N = 2048) below 2^45', () => {
    const rng = seededRandom(2);
    const n = 2048;
    const digits = Array.from({ length: n }, () => Math.floor(rng() * 2 ** 23) - 2 ** 22);
    const torus = Array.from({ length: n }, () => Math.floor((rng() - 0.5) * 2 ** 32) * 2 ** 31);
    const want = negacyclicNaive(digits, torus);
    const got = fftProduct(digits, torus);
    let worst = 0;
    for (let i = 0; i < n; i++) {
      const err = Math.abs(Number(BigInt(Math.round(got[i]!)) - want[i]!));
      worst = Math.max(worst, err);
    }
    // The product magnitudes reach ~2^90; a double keeps 53 bits, tfhe-rs budgets ~2^40 here.
    expect(Math.log2(worst)).toBeLessThan(45);
  });

  it('round-trips (backward ∘ forward = identity) to within 2^-40 relative', () => {
    const rng = seededRandom(3);
    for (const n of [8, 32, 2048, 4096]) {
      const plan = fftPlan(n);
      const x = Array.from({ length: n }, () => rng() * 2 - 1);
      const f = new Float64Array(n);
      forwardNegacyclic(plan, x, f, 0, n / 2);
      const back = new Float64Array(n);
      backwardNegacyclic(plan, f, 0, n / 2, back);
      for (let i = 0; i < n; i++) expect(Math.abs(back[i]! - x[i]!)).toBeLessThan(2 ** -40);
    }
  });
});
