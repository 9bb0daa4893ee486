/**
 * The applicant's side of TFHE, over the official `tfhe@1.6.1` wasm bindings: key generation in
 * the formats the evaluator and the parties read, encryption of 2-bit digits, decryption of results.
 *
 * Pure functions of a loaded `tfhe` module, so the worker owns every key object and nothing here
 * touches messaging or storage.
 */
import type * as Tfhe from 'tfhe';
import { deriveShortintClientKey, generateCompressedServerKey, keygenFastPathSupported } from '../../../fhe/keygen/index.ts';

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

/** The applicant's keys before the server key: one secret behind both. */
export interface ApplicantKeys {
  /** `TfheClientKey.serialize()` bytes: the secret, for the opt-in cache only. The caller zeroes them. */
  highLevelKey: Uint8Array;
  /** The shortint client key cut out of it: encrypts the applicant's digits, decrypts results. */
  clientKey: Tfhe.ShortintClientKey;
  /** `TfheCompactPublicKey.serialize()` bytes (32,888 for 2_2 TUniform): what parties encrypt with. */
  publicKey: Uint8Array;
}

/**
 * Fresh keys for a parameter set (fast: tens of milliseconds). A high-level `TfheClientKey` made
 * from the set's own block parameters gives the compact public key, and its secret, cut out as a
 * shortint client key, everything else: lists encrypted under the public key expand with no
 * casting key into ciphertexts of the server key this client key makes.
 */
export function newApplicantKeys(tfhe: TfheModule, paramSet: ParamSet): ApplicantKeys {
  const params = parametersOf(tfhe, paramSet);
  let hlKey: Tfhe.TfheClientKey;
  try {
    const config = tfhe.TfheConfigBuilder.with_custom_parameters(params).build();
    try {
      hlKey = tfhe.TfheClientKey.generate(config);
    } finally {
      config.free();
    }
  } finally {
    params.free();
  }
  try {
    const cpk = tfhe.TfheCompactPublicKey.new(hlKey);
    let publicKey: Uint8Array;
    try {
      publicKey = cpk.serialize();
    } finally {
      cpk.free();
    }
    const highLevelKey = hlKey.serialize();
    return { highLevelKey, clientKey: clientKeyFromHighLevel(tfhe, paramSet, highLevelKey), publicKey };
  } finally {
    hlKey.free();
  }
}

/**
 * The shortint client key inside `TfheClientKey.serialize()` bytes (fresh or cached), checked
 * against the set's parameters.
 * @throws EngineError when the bytes are not a high-level key of this set.
 */
export function clientKeyFromHighLevel(tfhe: TfheModule, paramSet: ParamSet, highLevelKey: Uint8Array): Tfhe.ShortintClientKey {
  const template = shortintKeyTemplate(tfhe, paramSet);
  const shortint = deriveShortintClientKey(highLevelKey, template);
  try {
    return tfhe.Shortint.deserialize_client_key(shortint);
  } finally {
    shortint.fill(0);
  }
}

/** `Shortint.serialize_client_key` bytes of a fixed-seed key: only its parameter bytes are used. */
function shortintKeyTemplate(tfhe: TfheModule, paramSet: ParamSet): Uint8Array {
  const params = parametersOf(tfhe, paramSet);
  try {
    const key = tfhe.Shortint.new_client_key_from_seed_and_parameters(0n, 0n, params);
    try {
      return tfhe.Shortint.serialize_client_key(key);
    } finally {
      key.free();
    }
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

/** Who makes the compressed server key: the engine's generator (`fhe/keygen`) or tfhe's own. */
export type ServerKeyGenerator = 'engine' | 'tfhe';

/**
 * The generator a request gets: the one it names, else the engine's wherever WebAssembly SIMD runs
 * (several times faster than tfhe's single-threaded wasm), else tfhe's own.
 */
export function chooseServerKeyGenerator(requested: ServerKeyGenerator | 'auto' | undefined): ServerKeyGenerator {
  if (requested === 'engine' || requested === 'tfhe') return requested;
  return keygenFastPathSupported() ? 'engine' : 'tfhe';
}

/**
 * The same key as {@link compressedServerKeyBytes} (same format, same secret), made by the engine's
 * generator from the high-level key's secret. The shortint key bytes it derives are zeroed after use.
 */
export function engineCompressedServerKeyBytes(
  tfhe: TfheModule,
  paramSet: ParamSet,
  highLevelKey: Uint8Array,
  onProgress?: (fraction: number) => void,
): Uint8Array {
  const shortint = deriveShortintClientKey(highLevelKey, shortintKeyTemplate(tfhe, paramSet));
  try {
    return generateCompressedServerKey(shortint, onProgress ? { onProgress } : {});
  } finally {
    shortint.fill(0);
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

/**
 * Runs decryption once on a throwaway ciphertext, so that the wasm code a result needs
 * (deserializing, decrypting) is compiled while the applicant types, not after the run.
 */
export function warmDecryption(tfhe: TfheModule, clientKey: Tfhe.ShortintClientKey): void {
  const ct = tfhe.Shortint.encrypt(clientKey, 0n);
  try {
    decryptCiphertext(tfhe, clientKey, tfhe.Shortint.serialize_ciphertext(ct));
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
