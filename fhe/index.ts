/**
 * BlindScore FHE engine: tfhe-rs 1.6.1-compatible shortint server operations in TypeScript.
 *
 * Pure functions over typed arrays, no I/O. Keys and ciphertexts are the exact bytes the
 * official `tfhe@1.6.1` / `node-tfhe@1.6.1` clients write with `Shortint.serialize_*`; results
 * serialize to bytes those clients deserialize and decrypt. See `fhe/README.md`.
 *
 * @example
 * const key = loadServerKey(compressedServerKeyBytes);           // parse + expand, once
 * const x = deserializeCompressedCiphertext(bytes, key.params);
 * const lut = createLookupTable(key.params, (v) => (v <= 2 ? 1 : 0));
 * const y = programmableBootstrap(key, x, lut);
 * const out = serializeCiphertext(y);                               // 16,464 bytes for 2_2 sets
 */
import type { CompressedServerKey, ServerKey } from './entities/server-key.ts';
import { deserializeCompressedServerKey } from './serialize/server-key.ts';
import { expandServerKey } from './algorithms/key-expansion.ts';

export { EngineError, isEngineError } from './errors.ts';
export type { EngineErrorCode } from './errors.ts';
export type { ShortintParameters, ModulusSwitchConfig } from './params/parameters.ts';
export { parameterSetName } from './params/known-sets.ts';
export type { Ciphertext } from './entities/ciphertext.ts';
export type { LookupTable } from './entities/lookup-table.ts';
export type { CompressedServerKey, ServerKey, CompressionSeed, SeededBodies } from './entities/server-key.ts';

/**
 * Parses `Shortint.serialize_compressed_server_key` bytes (tfhe-rs `shortint::CompressedServerKey`,
 * bincode). Every length is checked against the parameters and the remaining bytes before
 * anything is allocated.
 */
export { deserializeCompressedServerKey } from './serialize/server-key.ts';

/**
 * Expands a compressed key: regenerates every seeded mask with tfhe-csprng's AES-CTR stream,
 * converts the bootstrap key to the Fourier domain, keeps the keyswitch key. The result's large
 * arrays are `SharedArrayBuffer`-backed, so `postMessage(key)` shares them.
 */
export { expandServerKey } from './algorithms/key-expansion.ts';

/** Parses and expands `Shortint.serialize_compressed_server_key` bytes. */
export function loadServerKey(bytes: Uint8Array): ServerKey {
  const compressed: CompressedServerKey = deserializeCompressedServerKey(bytes);
  return expandServerKey(compressed);
}

/**
 * `deserializeCiphertext(bytes, params?)` parses `Shortint.serialize_ciphertext` bytes;
 * `deserializeCompressedCiphertext(bytes, params?)` parses `Shortint.serialize_compressed_ciphertext`
 * bytes and regenerates the mask. With `params`, both also check the ciphertext belongs to them.
 * `serializeCiphertext(ct)` writes the exact `Shortint.serialize_ciphertext` bytes (16,464 for k·N = 2048).
 */
export { deserializeCiphertext, deserializeCompressedCiphertext, serializeCiphertext } from './serialize/ciphertext.ts';

/**
 * `assertCiphertextMatchesKey(ct, key)`: `parameter_mismatch` unless `ct` is a big-key ciphertext
 * of the key's set. `serverKeyByteLength(key)`: the bytes an expanded key keeps resident.
 */
export { assertCiphertextMatchesKey, serverKeyByteLength } from './shortint/server-key.ts';

/**
 * `createLookupTable(params, f)`: the accumulator of `f` over the whole cleartext space 0..p−1
 * (p = message·carry), `f` a function or an array of p values, each an integer in 0..p−1.
 * For a message-only function pass `(v) => g(v % params.messageModulus)`.
 */
export { createLookupTable } from './shortint/lookup-table.ts';

/**
 * `programmableBootstrap(key, ct, lut)`: keyswitch, modulus switch (with the key's noise
 * reduction), blind rotation, sample extraction. Result: degree `lut.degree`, noise level 1.
 * Inputs above the key's max degree / max noise level are refused. For benchmarks and tests,
 * `keyswitchCiphertext(key, ct)` runs the keyswitch alone (its result is scratch, valid until the
 * next call) and `bootstrapKeyswitched(key, small, lut)` the rest, i.e. tfhe-rs's PBS.
 * `programmableBootstrapBatch(key, cts, luts)` bootstraps independent ciphertexts together, one
 * pass over the keys per batch of up to 8 (same bits as one by one).
 */
export { programmableBootstrap, programmableBootstrapBatch, keyswitchCiphertext, bootstrapKeyswitched } from './shortint/bootstrap.ts';

/**
 * `kernelVariant()`: which WebAssembly kernels this thread runs, `relaxed` (fused multiply-add,
 * when the runtime has relaxed SIMD) or `plain`; `selectKernelVariant(v)` switches (tests,
 * benchmarks; false when the runtime lacks it).
 */
export { kernelVariant, selectKernelVariant } from './wasm/kernels.ts';
export type { KernelVariant } from './wasm/kernels.ts';
/**
 * Instruction counts for the engine bench's arithmetic floor: `countingKernelsWat(fused)` is the
 * kernels' text with a counter per kind of f64x2 arithmetic, vector load, store and shuffle;
 * `countBlindRotationOps(module, params, count)` runs one blind rotation of `count`
 * accumulators on an instance of it (see `wasm/op-count.ts`); `dftWorkbench(module, params)`
 * one polynomial's DFT pair on a module's instance (timed on the engine's, counted on the
 * counting one); `readCounts(exports)` reads and resets a counting instance's counters.
 */
export {
  countingKernelsWat,
  countBlindRotationOps,
  dftWorkbench,
  readCounts,
  COUNTED_INSTRUCTIONS,
  ARITHMETIC_KINDS,
} from './wasm/op-count.ts';
/** The compiled kernels module of a variant (null when the runtime lacks it), for benches timing one kernel. */
export { kernelsModule } from './wasm/kernels.ts';
export type { CountedKind, OpCounts } from './wasm/op-count.ts';
/** Whether the `relaxed` kernels keyswitch these parameters on the KSK's high halves (else exactly). */
export { keyswitchHi32Supported } from './algorithms/pbs-wasm.ts';

/**
 * Noise audit (tests and benchmarks holding the client key; see `algorithms/noise-audit.ts`):
 * `blindRotationNoise(key, ct, lut, path, secrets)` decrypts the blind rotation's accumulator on a
 * given path (`reference`, `typescript`, `plain`, `relaxed`) and returns its per-coefficient noise;
 * `switchedPhaseError` the noise right before a blind rotation, `keyswitchedPhaseError` right after
 * the keyswitch (both on this thread's kernel variant); `log2GaussianTail` a failure
 * probability; `readClientKeySecrets` the secret bits of `Shortint.serialize_client_key` bytes.
 */
export {
  blindRotationNoise,
  switchedPhaseError,
  keyswitchedPhaseError,
  log2GaussianTail,
  sampleVariance,
} from './algorithms/noise-audit.ts';
export type { BlindRotationPath, SecretKeyBits } from './algorithms/noise-audit.ts';
export { readClientKeySecrets } from './compact/client-key.ts';

/**
 * Linear operations with tfhe-rs's checked degree / noise-level rules; the optional last
 * `params` argument supplies the key's budgets (default: tfhe-rs's defaults for the moduli).
 * Subtraction adds tfhe-rs's correcting term: a − b is computed as a + z·Δ − b.
 */
export { addCiphertexts, subCiphertexts, scalarMultiply, scalarAdd, trivialEncrypt } from './shortint/linear.ts';

/**
 * Compact ciphertext lists (what parties encrypt with the applicant's compact public key; see the
 * README's "Compact lists"). `deserializeCompactCiphertextList(bytes, params?)` parses
 * `CompactCiphertextList.serialize()` bytes (unpacked, no casting); `expandCompactCiphertextList(list,
 * params?)` returns the shortint blocks of each pushed value (degree msg−1, noise level 1);
 * `createSanitizeLookupTable(params, kind)` is the bootstrap that makes a block's degree a fact.
 * `assertUnsignedValues(list, blockCounts)` checks a list holds exactly the declared values.
 * `readCompactPublicKeyInfo(bytes)` reads a `TfheCompactPublicKey`'s parameters and
 * `compactPublicKeyProblems(info, expected)` says why they do not fit a set;
 * `deriveShortintClientKey(hlKey, template)` cuts the shortint client key out of a `TfheClientKey`.
 */
export type { CompactCiphertextList, DataKind } from './compact/compact-list.ts';
export type { CompactPublicKeyInfo, ExpectedCompactPublicKey } from './compact/public-key.ts';
export { assertUnsignedValues } from './compact/compact-list.ts';
export { deserializeCompactCiphertextList } from './compact/serialize.ts';
export { expandCompactCiphertextList, createSanitizeLookupTable } from './compact/expand.ts';
export { readCompactPublicKeyInfo, compactPublicKeyProblems } from './compact/public-key.ts';
export { deriveShortintClientKey } from './compact/client-key.ts';

/**
 * Compressed server key generation from `Shortint.serialize_client_key` bytes (see the README's
 * "Key generation"): `generateCompressedServerKey(clientKeyBytes)` returns the exact bytes of
 * `Shortint.serialize_compressed_server_key`; `compressedServerKeyParts` yields them in parts.
 * Browser code imports `fhe/keygen/index.ts` instead (this file pulls in Node-only modules).
 */
export {
  generateCompressedServerKey,
  compressedServerKeyParts,
  compressedServerKeyByteLength,
  readClientSecrets,
  zeroClientSecrets,
  defaultAesBackend,
  keygenFastPathSupported,
  SUPPORTED_SETS as KEYGEN_SUPPORTED_SETS,
} from './keygen/index.ts';
export type { KeygenOptions, ClientSecrets, KeygenParameters, NoiseDistribution, AesBackend } from './keygen/index.ts';
