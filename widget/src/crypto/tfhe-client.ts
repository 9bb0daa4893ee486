/**
 * The applicant's side of TFHE, over the official `tfhe@1.6.1` wasm bindings: key generation in
 * the formats the evaluator reads, encryption of 2-bit digits, decryption of results.
 *
 * Pure functions of a loaded `tfhe` module, so the worker owns every key object and nothing here
 * touches messaging or storage.
 */
import type * as Tfhe from 'tfhe';

/** The parameter sets a manifest may name, mapped to tfhe's `ShortintParametersName`. */
export const PARAM_SET_NAMES = ['tuniform', 'gaussian'] as const;
export type ParamSet = (typeof PARAM_SET_NAMES)[number];

type TfheModule = typeof Tfhe;

function parametersOf(tfhe: TfheModule, paramSet: ParamSet): Tfhe.ShortintParameters {
  const name =
    paramSet === 'tuniform'
      ? tfhe.ShortintParametersName.PARAM_MESSAGE_2_CARRY_2_KS_PBS_TUNIFORM_2M128
      : tfhe.ShortintParametersName.V1_1_PARAM_MESSAGE_2_CARRY_2_KS_PBS_GAUSSIAN_2M128;
  return new tfhe.ShortintParameters(name);
}

/** The message space of the 2_2 parameter sets: one encrypted digit holds 0–3. */
export const DIGIT_MODULUS = 4;

/** A fresh client key for a parameter set (fast: tens of milliseconds). */
export function newClientKey(tfhe: TfheModule, paramSet: ParamSet): Tfhe.ShortintClientKey {
  const params = parametersOf(tfhe, paramSet);
  try {
    return tfhe.Shortint.new_client_key(params);
  } finally {
    params.free();
  }
}

/**
 * The compressed (seeded) server key of a client key, serialized as
 * `Shortint.serialize_compressed_server_key` writes it (≈30 MB for 2_2): the only key that
 * leaves the page. Takes seconds; the caller runs it off the main thread.
 */
export function compressedServerKeyBytes(tfhe: TfheModule, clientKey: Tfhe.ShortintClientKey): Uint8Array {
  const serverKey = tfhe.Shortint.new_compressed_server_key(clientKey);
  try {
    return tfhe.Shortint.serialize_compressed_server_key(serverKey);
  } finally {
    serverKey.free();
  }
}

/** Encrypts one digit (0–3) as a serialized compressed ciphertext (124 bytes for 2_2). */
export function encryptDigit(tfhe: TfheModule, clientKey: Tfhe.ShortintClientKey, digit: number): Uint8Array {
  if (!Number.isInteger(digit) || digit < 0 || digit >= DIGIT_MODULUS) {
    throw new RangeError(`a digit must be an integer in 0..${DIGIT_MODULUS - 1}, got ${digit}`);
  }
  const ct = tfhe.Shortint.encrypt_compressed(clientKey, BigInt(digit));
  try {
    return tfhe.Shortint.serialize_compressed_ciphertext(ct);
  } finally {
    ct.free();
  }
}

/** Decrypts one serialized (uncompressed) ciphertext into its message, 0–3. */
export function decryptCiphertext(tfhe: TfheModule, clientKey: Tfhe.ShortintClientKey, bytes: Uint8Array): number {
  const ct = tfhe.Shortint.deserialize_ciphertext(bytes);
  try {
    return Number(tfhe.Shortint.decrypt(clientKey, ct));
  } finally {
    ct.free();
  }
}

export function serializeClientKey(tfhe: TfheModule, clientKey: Tfhe.ShortintClientKey): Uint8Array {
  return tfhe.Shortint.serialize_client_key(clientKey);
}

export function deserializeClientKey(tfhe: TfheModule, bytes: Uint8Array): Tfhe.ShortintClientKey {
  return tfhe.Shortint.deserialize_client_key(bytes);
}
