/**
 * Signed gadget decomposition (tfhe-rs `commons::math::decomposition::SignedDecomposer`, the
 * balanced variant of eprint 2021/1161): round a u64 to its top R = β·L bits, then peel L
 * base-2^β digits in [−2^(β−1), 2^(β−1)], least significant level first, with tfhe-rs's tie
 * rules so digits agree bit for bit.
 *
 * Values are handled as exact doubles: the decomposer state has R + 1 ≤ 53 bits (R ≤ 52 is
 * enforced when a key is loaded), so every intermediate is an exact integer.
 */

/**
 * Decomposes the u64 word (lo, hi) into `level` digits base 2^`baseLog`, writing digit q (which
 * pairs with decomposition level L − q, factor 2^(64 − β(L − q))) to `out[offset + q·stride]`.
 */
export function decomposeWord(
  lo: number,
  hi: number,
  baseLog: number,
  level: number,
  out: Int32Array | Float64Array,
  offset: number,
  stride = 1,
): void {
  const repBits = baseLog * level;
  const shift = 64 - repBits - 1; // ≥ 11
  // input >> shift: the representable bits plus the rounding bit.
  let t = shift >= 32 ? hi >>> (shift - 32) : hi * 2 ** (32 - shift) + (lo >>> shift);
  const roundingBit = t % 2;
  t = Math.floor((t + 1) / 2);
  const full = 2 ** repBits;
  if (t >= full) t -= full; // keep the low R bits
  // Balance: states above half the range (or exactly half, when the rounding bit says so) go negative.
  const halfRange = full / 2;
  let state = t > halfRange || (t === halfRange && roundingBit === 1) ? t - full : t;
  const base = 2 ** baseLog;
  const halfBase = base / 2;
  for (let q = 0; q < level; q++) {
    const next = Math.floor(state / base); // arithmetic shift
    const res = state - next * base; // low β bits, in [0, 2^β)
    // Carry when the digit would exceed half the base (ties follow the next state's top bit).
    const nextTopBit = Math.floor(next / halfBase) % 2 !== 0 ? 1 : 0;
    const carry = res > halfBase || (res === halfBase && nextTopBit === 1) ? 1 : 0;
    state = next + carry;
    out[offset + q * stride] = res - carry * base;
  }
}

/** The closest multiple of 2^(64−β·L) to (lo, hi) that the digits represent, as a bigint (tests). */
export function recomposeDigits(digits: ArrayLike<number>, baseLog: number, level: number): bigint {
  let v = 0n;
  for (let q = 0; q < level; q++) {
    const factor = 1n << BigInt(64 - baseLog * (level - q));
    v += BigInt(digits[q]!) * factor;
  }
  return BigInt.asUintN(64, v);
}
