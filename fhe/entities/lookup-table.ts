/**
 * A lookup table ready for programmable bootstrapping: the trivial GLWE accumulator whose body
 * encodes f (tfhe-rs `LookupTableOwned`, built like `fill_accumulator_with_encoding`).
 */
export interface LookupTable {
  readonly glweDimension: number;
  readonly polynomialSize: number;
  readonly messageModulus: number;
  readonly carryModulus: number;
  /**
   * Body polynomial of the accumulator, N u64 coefficients as little-endian u32 pairs (the mask
   * polynomials of a trivial GLWE are zero and not stored).
   */
  readonly body: Uint32Array;
  /** max f(v): the degree of every bootstrap output made with this table. */
  readonly degree: number;
}
