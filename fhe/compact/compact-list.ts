/**
 * The compact ciphertext list (tfhe-rs `high_level_api::CompactCiphertextList` over
 * `integer::CompactCiphertextList` over `shortint::CompactCiphertextList` over
 * `core_crypto::LweCompactCiphertextList`): what a holder of the compact public key encrypts
 * (M. Joye, "Compact public-key encryption", eprint 2023/603, §4).
 *
 * A list of `count` LWE ciphertexts of dimension d is stored as ⌈count/d⌉ mask polynomials of d
 * words followed by the `count` bodies. Ciphertext j·d + i (bin j, slot i) has the mask
 * mask_j·X^i in Z_{2^64}[X]/(X^d + 1) and body_{j·d+i}. `kinds` records what was pushed (one
 * entry per value: a radix integer of some blocks, a boolean, a string); the blocks of all values
 * follow each other in push order, least significant block first within a value.
 *
 * Plain structured-cloneable data, like every engine object.
 */
import {
  assertUnsignedValues as assertValues,
  compactListWords,
  dataKindBlocks,
  isCompactListError,
  totalBlocks as countBlocks,
  type CompactListHeader,
  type DataKind,
} from '../../protocol/compact-list.ts';
import { EngineError } from '../errors.ts';

export type { DataKind };
export { compactListWords, dataKindBlocks };

/** Runs a protocol-level list check, its refusals as {@link EngineError}s with the same codes. */
export function asEngineError<T>(check: () => T): T {
  try {
    return check();
  } catch (e) {
    if (isCompactListError(e)) throw new EngineError(e.code, e.message);
    throw e;
  }
}

/** The parsed list: the protocol's header fields (dimension, count, degree, moduli, kinds) with its data and tag. */
export interface CompactCiphertextList
  extends Pick<CompactListHeader, 'lweDimension' | 'count' | 'degree' | 'messageModulus' | 'carryModulus' | 'kinds'> {
  /**
   * ⌈count/d⌉ mask polynomials of d words, then `count` bodies; each u64 as a little-endian u32
   * pair, like {@link Ciphertext.data}.
   */
  readonly data: Uint32Array;
  /** The high-level list's tag bytes (empty unless the encrypting side set one). */
  readonly tag: Uint8Array;
}

/** Total blocks of a list's kinds; `invalid_length` if the sum leaves the exact integer range. */
export function totalBlocks(kinds: readonly DataKind[], messageModulus: number): number {
  return asEngineError(() => countBlocks(kinds, messageModulus));
}

/** Mask polynomials a list of `count` ciphertexts of dimension d carries: ⌈count/d⌉. */
export function compactListMaskCount(lweDimension: number, count: number): number {
  return Math.ceil(count / lweDimension);
}

/**
 * Checks that a list holds exactly unsigned values of these block counts, in this order — what a
 * party's upload declares (one value per input, `digits` blocks each). The rule is the
 * protocol's (`protocol/compact-list.ts`), shared with the gateway.
 * @throws EngineError `invalid_value`, naming what the list holds and what was declared.
 */
export function assertUnsignedValues(list: Pick<CompactCiphertextList, 'kinds'>, blockCounts: readonly number[]): void {
  asEngineError(() => assertValues(list, blockCounts));
}
