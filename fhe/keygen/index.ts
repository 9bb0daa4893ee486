/**
 * Compressed server key generation, browser-safe: this entry point (and everything it imports)
 * uses no Node built-in, so the widget's crypto worker imports it directly. Node callers may also
 * import it from `fhe/index.ts`. See `fhe/README.md`, "Key generation".
 */
export { generateCompressedServerKey, compressedServerKeyParts, compressedServerKeyByteLength, type KeygenOptions } from './generate.ts';
export {
  readClientSecrets,
  zeroClientSecrets,
  SUPPORTED_SETS,
  type ClientSecrets,
  type KeygenParameters,
  type NoiseDistribution,
} from './client-key.ts';
export { defaultAesBackend, type AesBackend } from '../csprng/mask-stream.ts';
// The shortint client key cut out of a `TfheClientKey`: browser code reaches it through this entry too.
export { deriveShortintClientKey } from '../compact/client-key.ts';

/**
 * A minimal module using WebAssembly SIMD (`i8x16.splat`, `i8x16.popcnt`): the engine's baseline.
 * Where it does not validate the runtime predates the engine's targets, and callers keep tfhe's own
 * key generation.
 */
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11,
]);

/** Whether this runtime has WebAssembly with SIMD, where the generator runs its fast path. */
export function keygenFastPathSupported(): boolean {
  try {
    return typeof WebAssembly === 'object' && WebAssembly.validate(SIMD_PROBE);
  } catch {
    return false;
  }
}
