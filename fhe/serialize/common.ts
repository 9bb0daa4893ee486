/**
 * Sub-structures shared by the shortint objects (tfhe-rs 1.6.1 field order, bincode):
 * `CiphertextModulus` (read by `BincodeReader.nativeModulus`), `CompressionSeed` (tfhe-csprng
 * `AesCtrParams`) and `AtomicPatternKind`.
 */
import { EngineError } from '../errors.ts';
import type { CompressionSeed } from '../entities/server-key.ts';
import type { BincodeReader, BincodeWriter } from './bincode.ts';

export function writeNativeCiphertextModulus(w: BincodeWriter): void {
  w.u128(0n);
  w.u64(64);
}

export const CIPHERTEXT_MODULUS_BYTES = 24;

/** Reads a `CompressionSeed`: seed kind (Ctr only), 16 seed bytes, first AES block index, first byte index. */
export function readCompressionSeed(r: BincodeReader, field: string): CompressionSeed {
  const kind = r.tag(`${field} seed kind`, ['Ctr', 'Xof']);
  if (kind !== 0) {
    throw new EngineError('unsupported', `${field}: XOF seeds are not produced by tfhe 1.6.1 shortint keys and are not supported`);
  }
  const seed = r.rawBytes(16, `${field} seed`);
  const firstAesIndex = r.u128(`${field} first AES index`);
  const firstByteIndex = r.u64InRange(`${field} first byte index`, 0, 15);
  return { seed, firstAesIndex, firstByteIndex };
}

/** Reads an `AtomicPatternKind`; only `Standard(KeyswitchBootstrap)` is supported. */
export function readStandardKsPbsAtomicPattern(r: BincodeReader, field: string): void {
  const kind = r.tag(`${field} atomic pattern`, ['Standard', 'KeySwitch32']);
  if (kind !== 0) throw new EngineError('unsupported', `${field}: the KeySwitch32 atomic pattern is not supported`);
  readKeyswitchBootstrapOrder(r, field);
}

/** Reads a `PBSOrder`; only `KeyswitchBootstrap` is supported. */
export function readKeyswitchBootstrapOrder(r: BincodeReader, field: string): void {
  const order = r.tag(`${field} PBS order`, ['KeyswitchBootstrap', 'BootstrapKeyswitch']);
  if (order !== 0) throw new EngineError('unsupported', `${field}: the BootstrapKeyswitch PBS order is not supported`);
}

export function writeStandardKsPbsAtomicPattern(w: BincodeWriter): void {
  w.u32(0);
  w.u32(0);
}

/** Largest LWE size accepted in a ciphertext (k·N + 1 for N ≤ 2^16, k ≤ 2): anything above is absurd. */
export const MAX_CIPHERTEXT_LWE_SIZE = 2 ** 17 + 1;
/** Largest metadata value (degree, noise level, moduli) the engine represents exactly. */
export const MAX_METADATA = Number.MAX_SAFE_INTEGER;
