/**
 * Encryption noise from the platform CSPRNG (`crypto.getRandomValues`), with tfhe-rs 1.6.1's
 * distributions (`core_crypto::commons::math::random`):
 *
 * - TUniform(b): take b+2 random bits r; the sample is ⌊r/2⌋ + (r mod 2) − 2^b, i.e. every value
 *   of [−2^b, 2^b] with probability 2^−(b+1) and the two end points with 2^−(b+2); variance
 *   (2^(2b+1) + 1)/6.
 * - Gaussian(σ, mean 0): Marsaglia's polar method (u, v uniform in [−1, 1), s = u² + v² kept when
 *   0 < s < 1, samples u·c and v·c with c = σ·√(−2 ln s / s)), σ a fraction of the modulus, each
 *   sample rounded to the nearest multiple of 2^−64 (tfhe-rs `from_torus`).
 *
 * Samples are written as signed integers (|e| < 2^51) into Float64Arrays, which the callers add
 * exactly to their u64 arithmetic. No branch depends on a sample's value except the polar
 * method's rejection test (as in tfhe-rs; it reveals only how many draws were rejected).
 */
import type { NoiseDistribution } from './client-key.ts';

/** getRandomValues refuses requests above 65,536 bytes. */
const RANDOM_WORDS = 16384;

/** Buffered CSPRNG words; `zero()` wipes the buffer. */
export class RandomWords {
  private readonly buf = new Uint32Array(RANDOM_WORDS);
  private pos = RANDOM_WORDS;

  next(): number {
    if (this.pos === RANDOM_WORDS) {
      crypto.getRandomValues(this.buf);
      this.pos = 0;
    }
    return this.buf[this.pos++]!;
  }

  zero(): void {
    this.buf.fill(0);
    this.pos = RANDOM_WORDS;
  }
}

/** Fills `out[from … from+count)` with samples of `dist` (signed integers, units of 2^−64). */
export function sampleNoise(dist: NoiseDistribution, rng: RandomWords, out: Float64Array, from: number, count: number): void {
  const end = from + count;
  if (dist.kind === 'tuniform') {
    const b = dist.boundLog2;
    const bits = b + 2;
    const offset = 2 ** b;
    if (bits <= 32) {
      const mask = bits === 32 ? -1 : (1 << bits) - 1;
      for (let i = from; i < end; i++) {
        const r = (rng.next() & mask) >>> 0;
        out[i] = (r >>> 1) + (r & 1) - offset;
      }
    } else {
      // b + 2 − 32 high bits from a second word; r < 2^52 stays exact in a double.
      const maskHi = (1 << (bits - 32)) - 1;
      for (let i = from; i < end; i++) {
        const lo = rng.next();
        const hi = rng.next() & maskHi;
        out[i] = hi * 2147483648 + (lo >>> 1) + (lo & 1) - offset;
      }
    }
    return;
  }
  const sigma = dist.std * 2 ** 64;
  let i = from;
  while (i < end) {
    const u = uniformSigned(rng);
    const v = uniformSigned(rng);
    const s = u * u + v * v;
    if (!(s > 0 && s < 1)) continue;
    const c = sigma * Math.sqrt((-2 * Math.log(s)) / s);
    out[i++] = Math.round(u * c);
    if (i < end) out[i++] = Math.round(v * c);
  }
}

/** Uniform in [−1, 1) on a grid of 2^−52 (53 random bits). */
function uniformSigned(rng: RandomWords): number {
  const hi = rng.next() >>> 5; // 27 bits
  const lo = rng.next() >>> 6; // 26 bits
  return (hi * 67108864 + lo) / 4503599627370496 - 1;
}

/** The distribution's variance in units of (2^−64)², as tfhe-rs states it. */
export function noiseVariance(dist: NoiseDistribution): number {
  if (dist.kind === 'tuniform') return (2 ** (2 * dist.boundLog2 + 1) + 1) / 6;
  return (dist.std * 2 ** 64) ** 2;
}
