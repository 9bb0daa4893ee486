/**
 * Compressed server key generation, browser-safe: this entry point (and everything it imports)
 * uses no Node built-in, so the widget's crypto worker imports it directly. Node callers may also
 * import it from `fhe/index.ts`. See `fhe/README.md`, "Key generation".
 */
export { generateCompressedServerKey, compressedServerKeyParts, compressedServerKeyByteLength, type KeygenOptions } from './generate.ts';
export { readClientSecrets, zeroClientSecrets, SUPPORTED_SETS, type ClientSecrets, type KeygenParameters, type NoiseDistribution } from './client-key.ts';
export { defaultAesBackend, type AesBackend } from '../csprng/mask-stream.ts';
