/**
 * Server (evaluation) keys.
 *
 * {@link CompressedServerKey} is the parsed `ShortintCompressedServerKey`: only the bodies of the
 * seeded keyswitch key, bootstrap key and (drift technique) encryptions of zero, plus the seeds
 * their masks are regenerated from. {@link ServerKey} is the expanded key a bootstrap runs on.
 *
 * Both are plain data (no classes, no closures). The expanded key's large arrays live in
 * `SharedArrayBuffer`s, so `worker.postMessage(key)` shares ~120 MB instead of copying it.
 */
import type { ShortintParameters } from '../params/parameters.ts';

/** tfhe-csprng `AesCtrParams` of a seeded object (only the `Ctr` seed kind is produced by tfhe 1.6.1). */
export interface CompressionSeed {
  /** The 16 seed bytes, which are the AES-128 key. */
  readonly seed: Uint8Array;
  /** First AES block counter (u128). */
  readonly firstAesIndex: bigint;
  /** First byte inside that block, 0..15. */
  readonly firstByteIndex: number;
}

/** The bodies of a seeded object: u64 words as little-endian u32 pairs, and the mask seed. */
export interface SeededBodies {
  readonly bodies: Uint32Array;
  readonly seed: CompressionSeed;
}

export interface CompressedServerKey {
  readonly params: ShortintParameters;
  /** k·N·ks_level bodies; entry t = i·ks_level + j encrypts s_big[i]·2^(64−β·(L−j)) under the small key. */
  readonly keyswitchKey: SeededBodies;
  /** n·pbs_level·(k+1) body polynomials of N coefficients (GGSW i, level, row). */
  readonly bootstrapKey: SeededBodies;
  /** Drift technique only: the bodies of `zerosCount` encryptions of zero under the small key. */
  readonly modulusSwitchZeros: SeededBodies | null;
}

/**
 * An expanded server key. Treat the arrays as opaque engine internals: their layout may change
 * between engine versions; only `params` is meant to be read by callers.
 */
export interface ServerKey {
  /** Layout tag, checked by every operation so a stale or foreign object is refused clearly. */
  readonly format: typeof SERVER_KEY_FORMAT;
  /** Random id of this expansion: threads cache their per-key kernel state under it. */
  readonly keyId: string;
  readonly params: ShortintParameters;
  /**
   * The shared WebAssembly memory holding every array below plus `scratchSlots` per-thread
   * scratch areas, or null when the key lives in plain SharedArrayBuffers (TypeScript path only).
   */
  readonly memory: WebAssembly.Memory | null;
  /** Scratch areas inside `memory` that threads claim (an i32 flag each at byte `flags`). */
  readonly scratchSlots: { readonly flags: number; readonly offset: number; readonly size: number; readonly count: number } | null;
  /**
   * Keyswitch key, u64 words split into low and high halves: row t = i·ks_level + j holds the n
   * mask words then the body. Length k·N·ks_level·(n+1) each.
   */
  readonly keyswitchKeyLo: Uint32Array;
  readonly keyswitchKeyHi: Uint32Array;
  /**
   * Bootstrap key in the Fourier domain: for GGSW i, level ℓ, row r, polynomial p, N/2 real parts
   * then N/2 imaginary parts (negacyclic, twisted; see `fft/`).
   */
  readonly fourierBootstrapKey: Float64Array;
  /** Drift technique only: zerosCount LWE ciphertexts of dimension n, u64 as u32 pairs. */
  readonly modulusSwitchZeros: Uint32Array | null;
}

export const SERVER_KEY_FORMAT = 'blindscore-engine-server-key-v2' as const;
