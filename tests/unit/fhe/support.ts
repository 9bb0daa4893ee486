/**
 * Shared fixtures for the engine suites: node-tfhe oracle helpers (encrypt, decrypt), a seeded
 * PRNG, and a parser for the test client key (the oracle's secret, used only to check key
 * material, never to decrypt engine results).
 */
import * as tfhe from 'node-tfhe';
import { expect } from 'vitest';
import type { Ciphertext, EngineErrorCode, KernelVariant } from '../../../fhe/index.ts';
import {
  readClientKeySecrets,
  deserializeCiphertext,
  deserializeCompressedCiphertext,
  EngineError,
  kernelVariant,
  selectKernelVariant,
  serializeCiphertext,
} from '../../../fhe/index.ts';
import type { TestKeys } from '../../support/tfhe-keys.ts';

/** Mulberry32: a small seeded PRNG, so every random test is reproducible. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomInt(rng: () => number, maxExclusive: number): number {
  return Math.floor(rng() * maxExclusive);
}

/** Encrypts m (mod message modulus) with node-tfhe; compressed or not, parsed by the engine. */
export function encrypt(keys: TestKeys, m: number, compressed = false): Ciphertext {
  if (compressed) {
    const c = tfhe.Shortint.encrypt_compressed(keys.clientKey, BigInt(m));
    return deserializeCompressedCiphertext(tfhe.Shortint.serialize_compressed_ciphertext(c));
  }
  const c = tfhe.Shortint.encrypt(keys.clientKey, BigInt(m));
  return deserializeCiphertext(tfhe.Shortint.serialize_ciphertext(c));
}

/** node-tfhe's decryption of the engine's serialized ciphertext (message modulus as stored). */
export function decrypt(keys: TestKeys, ct: Ciphertext): number {
  const c = tfhe.Shortint.deserialize_ciphertext(serializeCiphertext(ct));
  return Number(tfhe.Shortint.decrypt(keys.clientKey, c));
}

/**
 * node-tfhe's decryption of message and carry together: decrypt reduces by the ciphertext's
 * message_modulus field, so the oracle is handed a copy whose field is message·carry.
 */
export function decryptFull(keys: TestKeys, ct: Ciphertext): number {
  return decrypt(keys, { ...ct, messageModulus: ct.messageModulus * ct.carryModulus });
}

/** The secret keys inside `Shortint.serialize_client_key` bytes, read by the engine's one reader of them. */
export type ParsedClientKey = ReturnType<typeof readClientKeySecrets>;

export function parseClientKey(bytes: Uint8Array): ParsedClientKey {
  return readClientKeySecrets(bytes);
}

/** u64 word w of a u32-pair array, as a bigint. */
export function word(data: Uint32Array, w: number): bigint {
  return BigInt(data[2 * w]!) + (BigInt(data[2 * w + 1]!) << 32n);
}

/** Phase b − Σ a_i·s_i (mod 2^64) of an LWE given as a u32-pair array, with a binary key. */
export function lwePhase(data: Uint32Array, key: Uint8Array): bigint {
  const d = data.length / 2 - 1;
  let acc = word(data, d);
  for (let i = 0; i < d; i++) if (key[i]) acc -= word(data, i);
  return BigInt.asUintN(64, acc);
}

/** Signed distance of a u64 phase to a target (mod 2^64). */
export function torusDistance(phase: bigint, target: bigint): bigint {
  return BigInt.asIntN(64, phase - target);
}

/** Runs `f` and asserts it throws an EngineError of `code` with a descriptive message. */
export function expectEngineError(f: () => unknown, code: EngineErrorCode): EngineError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(EngineError);
    expect((e as EngineError).code, (e as Error).message).toBe(code);
    expect((e as Error).message.length).toBeGreaterThan(10);
    return e as EngineError;
  }
  throw new Error(`expected an EngineError ${code}, nothing was thrown`);
}

/** Runs `f` with this thread's WebAssembly kernels switched to `variant`, then restores the previous one. */
export function withKernelVariant<T>(variant: KernelVariant, f: () => T): T {
  const before = kernelVariant();
  expect(selectKernelVariant(variant), `${variant} kernels available`).toBe(true);
  try {
    return f();
  } finally {
    selectKernelVariant(before);
  }
}
