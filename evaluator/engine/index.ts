/**
 * BlindScore FHE engine: tfhe-rs 1.6.1-compatible shortint server operations in TypeScript.
 *
 * Pure functions over typed arrays, no I/O. Keys and ciphertexts are the exact bytes the
 * official `tfhe@1.6.1` / `node-tfhe@1.6.1` clients write with `Shortint.serialize_*`; results
 * serialize to bytes those clients deserialize and decrypt. See `evaluator/engine/README.md`.
 *
 * @example
 * const key = loadServerKey(compressedServerKeyBytes);           // parse + expand, once
 * const x = deserializeCompressedCiphertext(bytes, key.params);
 * const lut = createLookupTable(key.params, (v) => (v <= 2 ? 1 : 0));
 * const y = programmableBootstrap(key, x, lut);
 * const out = serializeCiphertext(y);                               // 16,464 bytes for 2_2 sets
 */
import { EngineError } from './errors.ts';
import type { Ciphertext } from './entities/ciphertext.ts';
import type { LookupTable } from './entities/lookup-table.ts';
import type { CompressedServerKey, ServerKey } from './entities/server-key.ts';
import type { ShortintParameters } from './params/parameters.ts';

export { EngineError, isEngineError } from './errors.ts';
export type { EngineErrorCode } from './errors.ts';
export type { ShortintParameters, ModulusSwitchConfig } from './params/parameters.ts';
export { parameterSetName } from './params/known-sets.ts';
export type { Ciphertext } from './entities/ciphertext.ts';
export type { LookupTable } from './entities/lookup-table.ts';
export type { CompressedServerKey, ServerKey, CompressionSeed, SeededBodies } from './entities/server-key.ts';

function notImplemented(what: string): never {
  throw new EngineError('unsupported', `${what} is not implemented yet`);
}

/** Parses `Shortint.serialize_compressed_server_key` bytes and expands them (see {@link expandServerKey}). */
export function loadServerKey(bytes: Uint8Array): ServerKey {
  return expandServerKey(deserializeCompressedServerKey(bytes));
}

/**
 * Parses `Shortint.serialize_compressed_server_key` bytes (tfhe-rs `shortint::CompressedServerKey`,
 * bincode). Every length is checked against the remaining bytes before anything is allocated.
 */
export function deserializeCompressedServerKey(bytes: Uint8Array): CompressedServerKey {
  void bytes;
  return notImplemented('deserializeCompressedServerKey');
}

/**
 * Expands a compressed key: regenerates every seeded mask with tfhe-csprng's AES-CTR stream,
 * converts the bootstrap key to the Fourier domain, keeps the keyswitch key.
 * The result's large arrays are `SharedArrayBuffer`-backed.
 */
export function expandServerKey(compressed: CompressedServerKey): ServerKey {
  void compressed;
  return notImplemented('expandServerKey');
}

/** Parses `Shortint.serialize_ciphertext` bytes; with `params`, also checks it belongs to them. */
export function deserializeCiphertext(bytes: Uint8Array, params?: ShortintParameters): Ciphertext {
  void bytes;
  void params;
  return notImplemented('deserializeCiphertext');
}

/** Parses `Shortint.serialize_compressed_ciphertext` bytes and regenerates the mask (decompresses). */
export function deserializeCompressedCiphertext(bytes: Uint8Array, params?: ShortintParameters): Ciphertext {
  void bytes;
  void params;
  return notImplemented('deserializeCompressedCiphertext');
}

/** Writes the exact `Shortint.serialize_ciphertext` bytes of a ciphertext (16,464 for k·N = 2048). */
export function serializeCiphertext(ct: Ciphertext): Uint8Array {
  void ct;
  return notImplemented('serializeCiphertext');
}

/** Throws `parameter_mismatch` unless `ct` is a big-key ciphertext of the key's parameter set. */
export function assertCiphertextMatchesKey(ct: Ciphertext, key: ServerKey): void {
  void ct;
  void key;
  notImplemented('assertCiphertextMatchesKey');
}

/**
 * Builds the accumulator of a univariate function over the whole cleartext space 0..p−1
 * (p = message·carry). `f` is a function or an array of p values; every value must be an
 * integer in 0..p−1. For a message-only function pass `(v) => g(v % messageModulus)`.
 */
export function createLookupTable(
  params: ShortintParameters,
  f: ((v: number) => number) | readonly number[],
): LookupTable {
  void params;
  void f;
  return notImplemented('createLookupTable');
}

/**
 * Applies a lookup table by programmable bootstrapping (KS-PBS): keyswitch to the small key,
 * modulus switch with the key's noise reduction, blind rotation, sample extraction.
 * The result has degree `lut.degree` and noise level 1. Inputs above the key's max degree or
 * max noise level are refused, as tfhe-rs's checked operations do.
 */
export function programmableBootstrap(key: ServerKey, ct: Ciphertext, lut: LookupTable): Ciphertext {
  void key;
  void ct;
  void lut;
  return notImplemented('programmableBootstrap');
}

/** a + b: degree and noise level add up (tfhe-rs `checked_add`). */
export function addCiphertexts(a: Ciphertext, b: Ciphertext): Ciphertext {
  void a;
  void b;
  return notImplemented('addCiphertexts');
}

/**
 * a − b computed as tfhe-rs `unchecked_sub_with_correcting_term`: a + (z·Δ − b) with z the
 * smallest multiple of message_modulus ≥ max(degree(b), 1), so the value stays non-negative.
 * Result degree = degree(a) + z; decrypting modulo message_modulus gives (a − b) mod message_modulus.
 */
export function subCiphertexts(a: Ciphertext, b: Ciphertext): Ciphertext {
  void a;
  void b;
  return notImplemented('subCiphertexts');
}

/** c·ct for a small non-negative integer c (tfhe-rs `checked_scalar_mul`). */
export function scalarMultiply(ct: Ciphertext, c: number): Ciphertext {
  void ct;
  void c;
  return notImplemented('scalarMultiply');
}

/** ct + m for a small non-negative integer m (tfhe-rs `checked_scalar_add`). */
export function scalarAdd(ct: Ciphertext, m: number): Ciphertext {
  void ct;
  void m;
  return notImplemented('scalarAdd');
}

/** A trivial (noiseless, zero-mask) encryption of m mod message_modulus (tfhe-rs `create_trivial`). */
export function trivialEncrypt(params: ShortintParameters, m: number): Ciphertext {
  void params;
  void m;
  return notImplemented('trivialEncrypt');
}
