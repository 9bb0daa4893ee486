/**
 * How the engine holds the discretized torus Z/2^64 (tfhe-rs's native u64 modulus): JavaScript
 * numbers are exact to 53 bits only, so each u64 word is a little-endian pair of u32
 * (`data[2i] + 2^32·data[2i+1]`); these constants convert between a pair and a float.
 */

/** 2^32: the weight of a word's high half (and the wrap of its low half). */
export const TWO32 = 4294967296;
/** 2^64: the torus modulus, as a float. */
export const TWO64 = 2 ** 64;
