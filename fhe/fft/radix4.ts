/**
 * Fast complex DFT pair for the negacyclic transform: radix-4 decimation in frequency forward
 * (natural order in, base-4 digit-reversed order out) and the mirror radix-4 decimation in time
 * backward (digit-reversed in, natural out, unscaled), with one radix-2 stage when log2(M) is odd.
 * As in `negacyclic.ts` the order never matters because only pointwise products happen in
 * between. Split real/imaginary Float64Arrays, twiddles precomputed per stage, no allocation.
 *
 * The twist (multiplication by ψ^j) and its inverse are left to the caller so it can fuse them
 * with its own loads and stores (see `algorithms/blind-rotate-f64.ts`).
 */

export interface Radix4Plan {
  /** Polynomial size N. */
  readonly n: number;
  /** Number of complex points M = N/2. */
  readonly m: number;
  /** Forward twist ψ^j = e^{iπj/N}. */
  readonly twistRe: Float64Array;
  readonly twistIm: Float64Array;
  /** Backward untwist conj(ψ^j)/M (includes the 1/M scaling). */
  readonly untwistRe: Float64Array;
  readonly untwistIm: Float64Array;
  /** Stage lengths in forward order, e.g. [1024, 256, 64, 16, 4] or [512, 128, …] after a radix-2 stage. */
  readonly stages: readonly number[];
  /** Twiddles per stage: for a radix-4 stage of length L, (ω^j, ω^2j, ω^3j) for j < L/4 interleaved re/im. */
  readonly twiddles: readonly Float64Array[];
}

const plans = new Map<number, Radix4Plan>();

export function radix4Plan(n: number): Radix4Plan {
  const hit = plans.get(n);
  if (hit) return hit;
  if (!Number.isInteger(n) || n < 8 || (n & (n - 1)) !== 0) throw new RangeError(`FFT size ${n} is not a power of two ≥ 8`);
  const m = n / 2;
  const twistRe = new Float64Array(m);
  const twistIm = new Float64Array(m);
  const untwistRe = new Float64Array(m);
  const untwistIm = new Float64Array(m);
  for (let j = 0; j < m; j++) {
    const a = (Math.PI * j) / n;
    twistRe[j] = Math.cos(a);
    twistIm[j] = Math.sin(a);
    untwistRe[j] = Math.cos(a) / m;
    untwistIm[j] = -Math.sin(a) / m;
  }
  const stages: number[] = [];
  const twiddles: Float64Array[] = [];
  let len = m;
  if (Math.log2(m) % 2 === 1) {
    // One radix-2 stage first: twiddles ω^j for j < L/2.
    const t = new Float64Array(m);
    for (let j = 0; j < m / 2; j++) {
      t[2 * j] = Math.cos((2 * Math.PI * j) / m);
      t[2 * j + 1] = -Math.sin((2 * Math.PI * j) / m);
    }
    stages.push(m);
    twiddles.push(t);
    len = m / 2;
  }
  for (; len >= 4; len /= 4) {
    const q = len / 4;
    const t = new Float64Array(6 * q);
    for (let j = 0; j < q; j++) {
      for (let e = 1; e <= 3; e++) {
        const a = (2 * Math.PI * j * e) / len;
        t[6 * j + 2 * (e - 1)] = Math.cos(a);
        t[6 * j + 2 * (e - 1) + 1] = -Math.sin(a);
      }
    }
    stages.push(len);
    twiddles.push(t);
  }
  const plan: Radix4Plan = { n, m, twistRe, twistIm, untwistRe, untwistIm, stages, twiddles };
  plans.set(n, plan);
  return plan;
}

/**
 * In-place forward DFT (sign −1) of M points, natural → digit-reversed order. The real parts
 * are `d[ro … ro+M)`, the imaginary parts `d[io … io+M)`.
 */
export function forwardDft(plan: Radix4Plan, d: Float64Array, ro: number, io: number): void {
  const { m, stages, twiddles } = plan;
  for (let s = 0; s < stages.length; s++) {
    const len = stages[s]!;
    const t = twiddles[s]!;
    if (s === 0 && Math.log2(m) % 2 === 1) {
      radix2Dif(d, ro, io, m, len, t);
    } else if (len === 4) {
      lastRadix4Dif(d, ro, io, m);
    } else {
      radix4Dif(d, ro, io, m, len, t);
    }
  }
}

/** In-place backward DFT (sign +1, unscaled) of M points, digit-reversed → natural order. */
export function backwardDft(plan: Radix4Plan, d: Float64Array, ro: number, io: number): void {
  const { m, stages, twiddles } = plan;
  for (let s = stages.length - 1; s >= 0; s--) {
    const len = stages[s]!;
    const t = twiddles[s]!;
    if (s === 0 && Math.log2(m) % 2 === 1) {
      radix2Dit(d, ro, io, m, len, t);
    } else if (len === 4) {
      lastRadix4Dit(d, ro, io, m);
    } else {
      radix4Dit(d, ro, io, m, len, t);
    }
  }
}

function radix2Dif(d: Float64Array, ro: number, io: number, m: number, len: number, t: Float64Array): void {
  const h = len / 2;
  for (let b = 0; b < m; b += len) {
    for (let j = 0; j < h; j++) {
      const a0 = b + j;
      const a1 = a0 + h;
      const ur = d[ro + a0]!;
      const ui = d[io + a0]!;
      const vr = d[ro + a1]!;
      const vi = d[io + a1]!;
      d[ro + a0] = ur + vr;
      d[io + a0] = ui + vi;
      const dr = ur - vr;
      const di = ui - vi;
      const wr = t[2 * j]!;
      const wi = t[2 * j + 1]!;
      d[ro + a1] = dr * wr - di * wi;
      d[io + a1] = dr * wi + di * wr;
    }
  }
}

function radix2Dit(d: Float64Array, ro: number, io: number, m: number, len: number, t: Float64Array): void {
  const h = len / 2;
  for (let b = 0; b < m; b += len) {
    for (let j = 0; j < h; j++) {
      const a0 = b + j;
      const a1 = a0 + h;
      const wr = t[2 * j]!;
      const wi = -t[2 * j + 1]!;
      const xr = d[ro + a1]!;
      const xi = d[io + a1]!;
      const vr = xr * wr - xi * wi;
      const vi = xr * wi + xi * wr;
      const ur = d[ro + a0]!;
      const ui = d[io + a0]!;
      d[ro + a0] = ur + vr;
      d[io + a0] = ui + vi;
      d[ro + a1] = ur - vr;
      d[io + a1] = ui - vi;
    }
  }
}

function radix4Dif(d: Float64Array, ro: number, io: number, m: number, len: number, t: Float64Array): void {
  const q = len / 4;
  for (let b = 0; b < m; b += len) {
    for (let j = 0; j < q; j++) {
      const i0 = b + j;
      const i1 = i0 + q;
      const i2 = i1 + q;
      const i3 = i2 + q;
      const x0r = d[ro + i0]!,
        x0i = d[io + i0]!;
      const x1r = d[ro + i1]!,
        x1i = d[io + i1]!;
      const x2r = d[ro + i2]!,
        x2i = d[io + i2]!;
      const x3r = d[ro + i3]!,
        x3i = d[io + i3]!;
      const s02r = x0r + x2r,
        s02i = x0i + x2i;
      const d02r = x0r - x2r,
        d02i = x0i - x2i;
      const s13r = x1r + x3r,
        s13i = x1i + x3i;
      const d13r = x1r - x3r,
        d13i = x1i - x3i;
      d[ro + i0] = s02r + s13r;
      d[io + i0] = s02i + s13i;
      // y1 = d02 − i·d13, y2 = s02 − s13, y3 = d02 + i·d13, then twiddled by ω^j, ω^2j, ω^3j.
      const y1r = d02r + d13i,
        y1i = d02i - d13r;
      const y2r = s02r - s13r,
        y2i = s02i - s13i;
      const y3r = d02r - d13i,
        y3i = d02i + d13r;
      const w = 6 * j;
      const w1r = t[w]!,
        w1i = t[w + 1]!,
        w2r = t[w + 2]!,
        w2i = t[w + 3]!,
        w3r = t[w + 4]!,
        w3i = t[w + 5]!;
      d[ro + i1] = y1r * w1r - y1i * w1i;
      d[io + i1] = y1r * w1i + y1i * w1r;
      d[ro + i2] = y2r * w2r - y2i * w2i;
      d[io + i2] = y2r * w2i + y2i * w2r;
      d[ro + i3] = y3r * w3r - y3i * w3i;
      d[io + i3] = y3r * w3i + y3i * w3r;
    }
  }
}

function radix4Dit(d: Float64Array, ro: number, io: number, m: number, len: number, t: Float64Array): void {
  const q = len / 4;
  for (let b = 0; b < m; b += len) {
    for (let j = 0; j < q; j++) {
      const i0 = b + j;
      const i1 = i0 + q;
      const i2 = i1 + q;
      const i3 = i2 + q;
      const w = 6 * j;
      // Untwiddle with the conjugates.
      const w1r = t[w]!,
        w1i = -t[w + 1]!,
        w2r = t[w + 2]!,
        w2i = -t[w + 3]!,
        w3r = t[w + 4]!,
        w3i = -t[w + 5]!;
      const a1r = d[ro + i1]!,
        a1i = d[io + i1]!;
      const a2r = d[ro + i2]!,
        a2i = d[io + i2]!;
      const a3r = d[ro + i3]!,
        a3i = d[io + i3]!;
      const y0r = d[ro + i0]!,
        y0i = d[io + i0]!;
      const y1r = a1r * w1r - a1i * w1i,
        y1i = a1r * w1i + a1i * w1r;
      const y2r = a2r * w2r - a2i * w2i,
        y2i = a2r * w2i + a2i * w2r;
      const y3r = a3r * w3r - a3i * w3i,
        y3i = a3r * w3i + a3i * w3r;
      const s02r = y0r + y2r,
        s02i = y0i + y2i;
      const d02r = y0r - y2r,
        d02i = y0i - y2i;
      const s13r = y1r + y3r,
        s13i = y1i + y3i;
      const d13r = y1r - y3r,
        d13i = y1i - y3i;
      // x1 = d02 + i·d13, x3 = d02 − i·d13.
      d[ro + i0] = s02r + s13r;
      d[io + i0] = s02i + s13i;
      d[ro + i1] = d02r - d13i;
      d[io + i1] = d02i + d13r;
      d[ro + i2] = s02r - s13r;
      d[io + i2] = s02i - s13i;
      d[ro + i3] = d02r + d13i;
      d[io + i3] = d02i - d13r;
    }
  }
}

function lastRadix4Dif(d: Float64Array, ro: number, io: number, m: number): void {
  for (let i0 = 0; i0 < m; i0 += 4) {
    const x0r = d[ro + i0]!,
      x0i = d[io + i0]!;
    const x1r = d[ro + i0 + 1]!,
      x1i = d[io + i0 + 1]!;
    const x2r = d[ro + i0 + 2]!,
      x2i = d[io + i0 + 2]!;
    const x3r = d[ro + i0 + 3]!,
      x3i = d[io + i0 + 3]!;
    const s02r = x0r + x2r,
      s02i = x0i + x2i;
    const d02r = x0r - x2r,
      d02i = x0i - x2i;
    const s13r = x1r + x3r,
      s13i = x1i + x3i;
    const d13r = x1r - x3r,
      d13i = x1i - x3i;
    d[ro + i0] = s02r + s13r;
    d[io + i0] = s02i + s13i;
    d[ro + i0 + 1] = d02r + d13i;
    d[io + i0 + 1] = d02i - d13r;
    d[ro + i0 + 2] = s02r - s13r;
    d[io + i0 + 2] = s02i - s13i;
    d[ro + i0 + 3] = d02r - d13i;
    d[io + i0 + 3] = d02i + d13r;
  }
}

function lastRadix4Dit(d: Float64Array, ro: number, io: number, m: number): void {
  for (let i0 = 0; i0 < m; i0 += 4) {
    const y0r = d[ro + i0]!,
      y0i = d[io + i0]!;
    const y1r = d[ro + i0 + 1]!,
      y1i = d[io + i0 + 1]!;
    const y2r = d[ro + i0 + 2]!,
      y2i = d[io + i0 + 2]!;
    const y3r = d[ro + i0 + 3]!,
      y3i = d[io + i0 + 3]!;
    const s02r = y0r + y2r,
      s02i = y0i + y2i;
    const d02r = y0r - y2r,
      d02i = y0i - y2i;
    const s13r = y1r + y3r,
      s13i = y1i + y3i;
    const d13r = y1r - y3r,
      d13i = y1i - y3i;
    d[ro + i0] = s02r + s13r;
    d[io + i0] = s02i + s13i;
    d[ro + i0 + 1] = d02r - d13i;
    d[io + i0 + 1] = d02i + d13r;
    d[ro + i0 + 2] = s02r - s13r;
    d[io + i0 + 2] = s02i - s13i;
    d[ro + i0 + 3] = d02r + d13i;
    d[io + i0 + 3] = d02i - d13r;
  }
}
