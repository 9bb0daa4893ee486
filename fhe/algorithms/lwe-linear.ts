/**
 * Word-wise LWE arithmetic mod 2^64 on u32-pair arrays (tfhe-rs `lwe_linear_algebra`):
 * addition, subtraction, multiplication by a small cleartext, plaintext addition to the body.
 */

import { TWO32 } from '../entities/torus.ts';

/** out = a + b (all the same length; `out` may alias either input). */
export function lweCiphertextAdd(out: Uint32Array, a: Uint32Array, b: Uint32Array): void {
  for (let i = 0; i < a.length; i += 2) {
    const lo = a[i]! + b[i]!;
    out[i] = lo;
    out[i + 1] = a[i + 1]! + b[i + 1]! + (lo >= TWO32 ? 1 : 0);
  }
}

/** out = a − b. */
export function lweCiphertextSub(out: Uint32Array, a: Uint32Array, b: Uint32Array): void {
  for (let i = 0; i < a.length; i += 2) {
    const lo = a[i]! - b[i]!;
    out[i] = lo;
    out[i + 1] = a[i + 1]! - b[i + 1]! - (lo < 0 ? 1 : 0);
  }
}

/** out = c·a for a cleartext 0 ≤ c < 2^21 (c·lo stays exact in a double). */
export function lweCiphertextCleartextMul(out: Uint32Array, a: Uint32Array, c: number): void {
  for (let i = 0; i < a.length; i += 2) {
    const lo = a[i]! * c;
    const carry = Math.floor(lo / TWO32);
    out[i] = lo - carry * TWO32;
    out[i + 1] = Math.imul(a[i + 1]!, c) + carry;
  }
}

/** Adds the u64 plaintext `value` to the body (the last word) of `ct` in place. */
export function lwePlaintextAddAssign(ct: Uint32Array, value: bigint): void {
  const b = ct.length - 2;
  const sum = BigInt.asUintN(64, BigInt(ct[b]!) + (BigInt(ct[b + 1]!) << 32n) + value);
  ct[b] = Number(sum & 0xffff_ffffn);
  ct[b + 1] = Number(sum >> 32n);
}

/** The u64 body of `ct` as a bigint. */
export function lweBody(ct: Uint32Array): bigint {
  const b = ct.length - 2;
  return BigInt(ct[b]!) + (BigInt(ct[b + 1]!) << 32n);
}

/** True when every mask word is zero (a trivial ciphertext). */
export function lweMaskIsZero(ct: Uint32Array): boolean {
  for (let i = 0; i < ct.length - 2; i++) if (ct[i] !== 0) return false;
  return true;
}
