/**
 * `shortint::Ciphertext` and `shortint::CompressedCiphertext` in the bincode layout of
 * `Shortint.serialize_ciphertext` / `Shortint.serialize_compressed_ciphertext` (tfhe 1.6.1).
 *
 * Ciphertext: Vec<u64> LWE words (body last), CiphertextModulus, degree, noise_level,
 * message_modulus, carry_modulus, AtomicPatternKind.
 * CompressedCiphertext: body, lwe_size, CompressionSeed, CiphertextModulus, degree,
 * message_modulus, carry_modulus, AtomicPatternKind, noise_level (noise level last).
 */
import { EngineError } from '../errors.ts';
import type { Ciphertext } from '../entities/ciphertext.ts';
import { assertCiphertextConformant } from '../entities/ciphertext.ts';
import type { ShortintParameters } from '../params/parameters.ts';
import { fillMaskWords } from '../csprng/aes-ctr.ts';
import { BincodeWriter, engineReader, type BincodeReader } from './bincode.ts';
import {
  CIPHERTEXT_MODULUS_BYTES,
  MAX_CIPHERTEXT_LWE_SIZE,
  MAX_METADATA,
  readCompressionSeed,
  readStandardKsPbsAtomicPattern,
  writeNativeCiphertextModulus,
  writeStandardKsPbsAtomicPattern,
} from './common.ts';

function readModulusField(r: BincodeReader, field: string): number {
  return r.u64InRange(field, 2, 2 ** 16);
}

export function deserializeCiphertext(bytes: Uint8Array, params?: ShortintParameters): Ciphertext {
  const r = engineReader(bytes, 'Ciphertext');
  const size = r.vecLength('LWE data', MAX_CIPHERTEXT_LWE_SIZE);
  if (size < 2) throw new EngineError('invalid_length', `Ciphertext: LWE size ${size} is too small`);
  const data = r.u64Words(size, 'LWE data');
  r.nativeModulus('Ciphertext');
  const degree = r.u64InRange('degree', 0, MAX_METADATA);
  const noiseLevel = r.u64InRange('noise level', 0, MAX_METADATA);
  const messageModulus = readModulusField(r, 'message modulus');
  const carryModulus = readModulusField(r, 'carry modulus');
  readStandardKsPbsAtomicPattern(r, 'Ciphertext');
  r.end();
  const ct: Ciphertext = { data, degree, noiseLevel, messageModulus, carryModulus };
  if (params) assertCiphertextConformant(ct, params);
  return ct;
}

/** Exact serialized size of a ciphertext of LWE dimension d: 8 + 8(d+1) + 24 + 32 + 8. */
export function serializedCiphertextSize(lweDimension: number): number {
  return 8 + 8 * (lweDimension + 1) + CIPHERTEXT_MODULUS_BYTES + 4 * 8 + 8;
}

export function serializeCiphertext(ct: Ciphertext): Uint8Array {
  if (!(ct.data instanceof Uint32Array) || ct.data.length < 4 || ct.data.length % 2 !== 0) {
    throw new EngineError('invalid_argument', 'serializeCiphertext: data must be a Uint32Array of u64 pairs');
  }
  for (const [name, v] of [
    ['degree', ct.degree],
    ['noise level', ct.noiseLevel],
    ['message modulus', ct.messageModulus],
    ['carry modulus', ct.carryModulus],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new EngineError('invalid_argument', `serializeCiphertext: ${name} must be a non-negative integer, got ${v}`);
    }
  }
  const words = ct.data.length / 2;
  const w = new BincodeWriter(serializedCiphertextSize(words - 1));
  w.u64(words);
  w.u64Words(ct.data);
  writeNativeCiphertextModulus(w);
  w.u64(ct.degree);
  w.u64(ct.noiseLevel);
  w.u64(ct.messageModulus);
  w.u64(ct.carryModulus);
  writeStandardKsPbsAtomicPattern(w);
  return w.finish();
}

/** Parses a compressed ciphertext and regenerates its mask from the seed (decompression). */
export function deserializeCompressedCiphertext(bytes: Uint8Array, params?: ShortintParameters): Ciphertext {
  const r = engineReader(bytes, 'CompressedCiphertext');
  const body = r.u64Words(1, 'body');
  const lweSize = r.u64InRange('LWE size', 2, MAX_CIPHERTEXT_LWE_SIZE);
  const seed = readCompressionSeed(r, 'CompressedCiphertext');
  r.nativeModulus('CompressedCiphertext');
  const degree = r.u64InRange('degree', 0, MAX_METADATA);
  const messageModulus = readModulusField(r, 'message modulus');
  const carryModulus = readModulusField(r, 'carry modulus');
  readStandardKsPbsAtomicPattern(r, 'CompressedCiphertext');
  const noiseLevel = r.u64InRange('noise level', 0, MAX_METADATA);
  r.end();
  // Check the shape before generating any stream: the size is attacker-controlled.
  if (params) {
    assertCiphertextConformant(
      { data: new Uint32Array(0), degree, noiseLevel, messageModulus, carryModulus },
      params,
      'CompressedCiphertext',
      lweSize - 1,
    );
  }
  const data = new Uint32Array(2 * lweSize);
  fillMaskWords(seed, 0, lweSize - 1, data, 0);
  data[2 * (lweSize - 1)] = body[0]!;
  data[2 * (lweSize - 1) + 1] = body[1]!;
  return { data, degree, noiseLevel, messageModulus, carryModulus };
}
