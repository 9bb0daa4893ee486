/**
 * Exact neighbours of IEEE-754 numbers, for turning a tree's comparisons into the quantizer's
 * `value ≥ cut` form without losing a single value: `x ≤ c` is `x < nextUp(c)` on doubles, and a
 * comparison made after a cast to float32 (`Math.fround`) is a comparison of the double with one
 * rounding boundary.
 *
 * Browser-safe.
 */

const f64 = new Float64Array(1);
const i64 = new BigInt64Array(f64.buffer);
const f32 = new Float32Array(1);
const i32 = new Int32Array(f32.buffer);

/** The smallest double greater than `x` (finite `x`). */
export function nextUp(x: number): number {
  if (x === 0) return Number.MIN_VALUE;
  f64[0] = x;
  i64[0]! += x > 0 ? 1n : -1n;
  return f64[0]!;
}

/** The largest double smaller than `x` (finite `x`). */
export function nextDown(x: number): number {
  return -nextUp(-x);
}

/** The smallest float32 value greater than the float32 value `x`. */
function nextUp32(x: number): number {
  if (x === 0) return 2 ** -149;
  f32[0] = x;
  i32[0]! += x > 0 ? 1 : -1;
  return f32[0]!;
}

/**
 * The smallest double `cut` with `Math.fround(x) ≥ c` ⇔ `x ≥ cut` for every double `x`, so that
 * `fround(x) < c` ⇔ `x < cut`. `fround` is monotone, so such a cut exists; it is the lowest
 * double that rounds (to nearest, ties to even) to the smallest float32 `g ≥ c`.
 * Thresholds beyond the float32 range give ±Infinity (no feature of the schema comes near).
 */
export function float32LessThanCut(c: number): number {
  if (Number.isNaN(c)) throw new RangeError('NaN threshold');
  let g = Math.fround(c);
  if (g < c) g = nextUp32(g);
  if (!Number.isFinite(g)) return g;
  const below = -nextUp32(-g); // the float32 just under g
  if (!Number.isFinite(below)) return -Infinity;
  const mid = (below + g) / 2; // exact: a float32 midpoint needs 25 significant bits
  return Math.fround(mid) === g ? mid : nextUp(mid);
}
