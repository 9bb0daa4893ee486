import { describe, expect, it } from 'vitest';
import { decomposeWord, recomposeDigits } from '../../../fhe/algorithms/decomposition.ts';
import { seededRandom } from './support.ts';

/**
 * tfhe-rs's signed decomposer written directly on 64-bit bigints (rounding, balancing and the
 * per-level carry bit trick), as an independent model of `decomposeWord`.
 */
function decomposeBigint(x: bigint, baseLog: number, level: number): number[] {
  const rep = BigInt(baseLog * level);
  let res = x >> (64n - rep - 1n);
  const roundingBit = res & 1n;
  res = ((res + 1n) >> 1n) & ((1n << rep) - 1n);
  const needBalance = (((res - 1n) | (roundingBit << (rep - 1n))) & res) >> (rep - 1n);
  let state = BigInt.asUintN(64, res - (needBalance << rep));
  const mask = (1n << BigInt(baseLog)) - 1n;
  const out: number[] = [];
  for (let l = 0; l < level; l++) {
    const r = state & mask;
    state = BigInt.asUintN(64, BigInt.asIntN(64, state) >> BigInt(baseLog));
    const carry = ((BigInt.asUintN(64, r - 1n) | state) & r) >> BigInt(baseLog - 1);
    state = BigInt.asUintN(64, state + carry);
    out.push(Number(BigInt.asIntN(64, BigInt.asUintN(64, r - (carry << BigInt(baseLog))))));
  }
  return out;
}

function closestRepresentable(x: bigint, baseLog: number, level: number): bigint {
  const shift = BigInt(64 - baseLog * level);
  return BigInt.asUintN(64, ((x + (1n << (shift - 1n))) >> shift) << shift);
}

const words = (seed: number, count: number): bigint[] => {
  const rng = seededRandom(seed);
  const edge = [0n, 1n, (1n << 63n) - 1n, 1n << 63n, (1n << 64n) - 1n, 1n << 40n, (1n << 40n) - 1n, 3n << 59n, 1n << 47n, 1n << 48n];
  const random = Array.from({ length: count }, () => (BigInt(Math.floor(rng() * 2 ** 32)) << 32n) | BigInt(Math.floor(rng() * 2 ** 32)));
  // Exact ties at every rounding position of the tested decompositions.
  const ties = [41, 47, 48, 49, 43].map((s) => (BigInt(Math.floor(rng() * 2 ** 20)) << BigInt(s)) | (1n << BigInt(s - 1)));
  return [...edge, ...ties, ...random];
};

describe('signed gadget decomposition', () => {
  for (const [baseLog, level] of [
    [23, 1],
    [4, 4],
    [3, 5],
    [15, 2],
    [2, 8],
  ] as const) {
    it(`matches tfhe-rs's decomposer bit for bit and recomposes to the closest multiple (β=${baseLog}, L=${level})`, () => {
      const digits = new Int32Array(level);
      for (const x of words(baseLog * 100 + level, 2000)) {
        decomposeWord(Number(x & 0xffff_ffffn), Number(x >> 32n), baseLog, level, digits, 0);
        expect(Array.from(digits), `x = ${x}`).toEqual(decomposeBigint(x, baseLog, level));
        for (const d of digits) expect(Math.abs(d)).toBeLessThanOrEqual(2 ** (baseLog - 1));
        expect(recomposeDigits(digits, baseLog, level)).toBe(closestRepresentable(x, baseLog, level));
      }
    });
  }
});
