/**
 * KS-PBS on LWE words (tfhe-rs shortint `StandardAtomicPatternServerKey::apply_lookup_table_assign`
 * with `PBSOrder::KeyswitchBootstrap`): keyswitch big → small key, modulus switch to 2N with the
 * key's noise reduction, blind rotation of the lookup table, sample extraction back under the big
 * key. `bootstrapSmallLweCiphertext` is the PBS without the keyswitch (tfhe-rs's own meaning of
 * "PBS"). Outputs and scratch belong to the caller; nothing is allocated per bootstrap.
 */
import type { ServerKey } from '../entities/server-key.ts';
import type { ShortintParameters } from '../params/parameters.ts';
import { blindRotate, blindRotateScratch, sampleExtract } from './blind-rotate.ts';
import type { BlindRotateScratch } from './blind-rotate.ts';
import { blindRotateF64, blindRotateF64Scratch, sampleExtractF64 } from './blind-rotate-f64.ts';
import type { BlindRotateF64Scratch } from './blind-rotate-f64.ts';
import { keyswitchLweCiphertext, keyswitchScratch } from './keyswitch.ts';
import type { KeyswitchScratch } from './keyswitch.ts';
import { modulusSwitchForBlindRotation } from './modulus-switch.ts';

export interface PbsScratch {
  readonly keyswitch: KeyswitchScratch;
  /** Keyswitched ciphertext: n+1 u64 as u32 pairs. */
  readonly small: Uint32Array;
  /** Modulus-switched values in [0, 2N): n masks then the body. */
  readonly switched: Uint32Array;
  /** Exact-u64 reference blind rotation (allocated on first use). */
  blindRotate: BlindRotateScratch | null;
  readonly blindRotateF64: BlindRotateF64Scratch;
}

/** Which blind rotation runs: the fast double accumulator (default) or the exact u64 reference. */
export type BlindRotationKind = 'f64' | 'reference';

/** Scratch for one bootstrap at a time with these parameters (tfhe-rs `_mem_optimized_requirement`). */
export function pbsScratch(params: ShortintParameters): PbsScratch {
  return {
    keyswitch: keyswitchScratch(params),
    small: new Uint32Array(2 * (params.lweDimension + 1)),
    switched: new Uint32Array(params.lweDimension + 1),
    blindRotate: null,
    blindRotateF64: blindRotateF64Scratch(params),
  };
}

/** Keyswitch only: `input` (big key) → `scratch.small` (small key). */
export function keyswitchWithKey(key: ServerKey, input: Uint32Array, scratch: PbsScratch): Uint32Array {
  keyswitchLweCiphertext(key.params, key.keyswitchKeyLo, key.keyswitchKeyHi, input, scratch.small, scratch.keyswitch);
  return scratch.small;
}

/**
 * KS-PBS (shortint `apply_lookup_table`): bootstraps `input` (k·N+1 words as u32 pairs) through
 * the accumulator body `lutBody` (N words as u32 pairs) into `output` (same shape as `input`).
 */
export function programmableBootstrapLweCiphertext(
  key: ServerKey,
  input: Uint32Array,
  lutBody: Uint32Array,
  output: Uint32Array,
  scratch: PbsScratch,
  kind: BlindRotationKind = 'f64',
): void {
  keyswitchWithKey(key, input, scratch);
  bootstrapSmallLweCiphertext(key, scratch.small, lutBody, output, scratch, kind);
}

/**
 * The PBS alone (tfhe-rs `programmable_bootstrap_lwe_ciphertext`): modulus switch with the key's
 * noise reduction, blind rotation, sample extraction of `small` (n+1 words as u32 pairs, under
 * the small key) into `output` (k·N+1 words as u32 pairs, under the big key).
 */
export function bootstrapSmallLweCiphertext(
  key: ServerKey,
  small: Uint32Array,
  lutBody: Uint32Array,
  output: Uint32Array,
  scratch: PbsScratch,
  kind: BlindRotationKind = 'f64',
): void {
  const params = key.params;
  modulusSwitchForBlindRotation(params, key.modulusSwitchZeros, small, scratch.switched);
  if (kind === 'f64') {
    blindRotateF64(params, key.fourierBootstrapKey, scratch.switched, lutBody, scratch.blindRotateF64);
    sampleExtractF64(params, scratch.blindRotateF64.acc, output);
    return;
  }
  const br = (scratch.blindRotate ??= blindRotateScratch(params));
  blindRotate(params, key.fourierBootstrapKey, scratch.switched, lutBody, br);
  sampleExtract(params, br.accLo, br.accHi, output);
}
