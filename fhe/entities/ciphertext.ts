/**
 * The shortint ciphertext (tfhe-rs `shortint::Ciphertext`): one LWE ciphertext under the big key
 * plus the metadata that tracks how full its carry space is (degree) and how much noise it has
 * accumulated relative to a fresh encryption (noise level).
 *
 * Plain structured-cloneable data: it crosses `postMessage` unchanged.
 */
import { EngineError } from '../errors.ts';
import type { ShortintParameters } from '../params/parameters.ts';
import { bigLweDimension } from '../params/parameters.ts';

export interface Ciphertext {
  /**
   * The LWE words a_0 … a_{d−1}, b (body last, d = k·N), each u64 stored as a little-endian pair
   * of u32 (word i is `data[2i] + 2^32·data[2i+1]`). Length 2·(d+1): 4,098 for the 2_2 sets.
   */
  readonly data: Uint32Array;
  /** Largest cleartext value (message plus carries) the ciphertext may hold. */
  readonly degree: number;
  /** Noise relative to a fresh encryption: 0 trivial, 1 fresh or bootstrapped, adds up under linear ops. */
  readonly noiseLevel: number;
  readonly messageModulus: number;
  readonly carryModulus: number;
}

/**
 * Checks that a ciphertext is a well-formed big-key ciphertext of `params`: dimension k·N,
 * the key's message and carry moduli, integer metadata. Throws `parameter_mismatch` or
 * `invalid_value`.
 */
export function assertCiphertextConformant(ct: Ciphertext, params: ShortintParameters, label = 'ciphertext', lweDimension?: number): void {
  if (!(ct.data instanceof Uint32Array)) {
    throw new EngineError('invalid_argument', `${label}: data must be a Uint32Array`);
  }
  const size = (lweDimension ?? ct.data.length / 2 - 1) + 1;
  const expected = bigLweDimension(params) + 1;
  if (size !== expected) {
    throw new EngineError('parameter_mismatch', `${label}: LWE size ${size} does not match the key's k·N+1 = ${expected}`);
  }
  if (ct.messageModulus !== params.messageModulus || ct.carryModulus !== params.carryModulus) {
    throw new EngineError(
      'parameter_mismatch',
      `${label}: message/carry modulus ${ct.messageModulus}/${ct.carryModulus} do not match the key's ` +
        `${params.messageModulus}/${params.carryModulus}`,
    );
  }
  assertMetadataInteger(ct.degree, `${label}: degree`);
  assertMetadataInteger(ct.noiseLevel, `${label}: noise level`);
}

function assertMetadataInteger(v: number, label: string): void {
  if (!Number.isSafeInteger(v) || v < 0) {
    throw new EngineError('invalid_value', `${label} must be a non-negative safe integer, got ${v}`);
  }
}
