/**
 * Shortint parameters as the engine sees them: everything read from a serialized
 * `ShortintCompressedServerKey` (tfhe-rs `shortint::parameters`), never from a hard-coded set.
 *
 * The compressed server key carries the dimensions, decomposition parameters, moduli, the
 * degree / noise budgets and the modulus-switch configuration; it does not carry the noise
 * distributions or the failure probability, which the server never needs.
 */

/** How the keyswitched ciphertext is brought to modulus 2N before blind rotation. */
export type ModulusSwitchConfig =
  /** Plain rounding of every word (tfhe-rs `ModulusSwitchType::Standard`). */
  | { readonly kind: 'standard' }
  /** Body re-centred by half the mask rounding errors (`CenteredMeanNoiseReduction`). */
  | { readonly kind: 'centered_mean' }
  /**
   * Drift technique (eprint 2024/1718, tfhe-rs `DriftTechniqueNoiseReduction`): add the stored
   * encryption of zero that brings the estimated modulus-switch noise under `msBound`.
   */
  | {
      readonly kind: 'drift';
      readonly zerosCount: number;
      readonly msBound: number;
      readonly msRSigmaFactor: number;
      /** Input variance as a fraction of q² (tfhe-rs `Variance`). */
      readonly msInputVariance: number;
    };

/** The parameters of one shortint KS-PBS key (classic PBS, native modulus 2^64, big-key ciphertexts). */
export interface ShortintParameters {
  /** n: dimension of the small LWE key (keyswitch output, blind-rotation input). */
  readonly lweDimension: number;
  /** k: number of GLWE mask polynomials. */
  readonly glweDimension: number;
  /** N: GLWE polynomial size (a power of two). */
  readonly polynomialSize: number;
  readonly pbsBaseLog: number;
  readonly pbsLevel: number;
  readonly ksBaseLog: number;
  readonly ksLevel: number;
  readonly messageModulus: number;
  readonly carryModulus: number;
  /** Largest degree an operand may have (usually message·carry − 1). */
  readonly maxDegree: number;
  /** Largest noise level an operand may have before it must be bootstrapped. */
  readonly maxNoiseLevel: number;
  readonly modulusSwitch: ModulusSwitchConfig;
}

/** k·N: the dimension of the big LWE key under which client ciphertexts and PBS outputs live. */
export function bigLweDimension(p: ShortintParameters): number {
  return p.glweDimension * p.polynomialSize;
}

/** p = message·carry: the cleartext space without the padding bit. */
export function cleartextModulus(p: Pick<ShortintParameters, 'messageModulus' | 'carryModulus'>): number {
  return p.messageModulus * p.carryModulus;
}

/**
 * Δ = ⌊2^62 / p⌋·2 (tfhe-rs `compute_delta` for the native modulus with a padding bit), as a
 * bigint because it is a full 64-bit quantity.
 */
export function deltaOf(p: Pick<ShortintParameters, 'messageModulus' | 'carryModulus'>): bigint {
  return ((1n << 62n) / BigInt(cleartextModulus(p))) * 2n;
}
