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
import { EngineError } from '../errors.ts';

/** tfhe-rs `integer::ciphertext::DataKind`: what one pushed value is made of. */
export type DataKind =
  | { readonly kind: 'unsigned'; readonly blocks: number }
  | { readonly kind: 'signed'; readonly blocks: number }
  | { readonly kind: 'boolean' }
  | { readonly kind: 'string'; readonly chars: number; readonly padded: boolean };

export interface CompactCiphertextList {
  /**
   * ⌈count/d⌉ mask polynomials of d words, then `count` bodies; each u64 as a little-endian u32
   * pair, like {@link Ciphertext.data}.
   */
  readonly data: Uint32Array;
  /** d: the LWE dimension of every ciphertext of the list (k·N for the lists the engine takes). */
  readonly lweDimension: number;
  /** Number of LWE ciphertexts (shortint blocks) in the list. */
  readonly count: number;
  /** Degree every block is declared with: messageModulus − 1 for an unpacked list. */
  readonly degree: number;
  readonly messageModulus: number;
  readonly carryModulus: number;
  /** One entry per pushed value, in push order. */
  readonly kinds: readonly DataKind[];
  /** The high-level list's tag bytes (empty unless the encrypting side set one). */
  readonly tag: Uint8Array;
}

/** Blocks a value of this kind occupies (tfhe-rs `DataKind::num_blocks`). */
export function dataKindBlocks(kind: DataKind, messageModulus: number): number {
  switch (kind.kind) {
    case 'unsigned':
    case 'signed':
      return kind.blocks;
    case 'boolean':
      return 1;
    case 'string':
      // 7-bit ASCII characters, each spread over ⌈7 / ⌊log2 msg⌋⌉ blocks.
      return kind.chars * Math.ceil(7 / (31 - Math.clz32(messageModulus)));
  }
}

/** Total blocks of a list's kinds; `invalid_length` if the sum leaves the exact integer range. */
export function totalBlocks(kinds: readonly DataKind[], messageModulus: number): number {
  let total = 0;
  for (const k of kinds) {
    total += dataKindBlocks(k, messageModulus);
    if (!Number.isSafeInteger(total)) {
      throw new EngineError('invalid_length', `CompactCiphertextList: the data kinds add up to more than ${Number.MAX_SAFE_INTEGER} blocks`);
    }
  }
  return total;
}

/** Mask polynomials a list of `count` ciphertexts of dimension d carries: ⌈count/d⌉. */
export function compactListMaskCount(lweDimension: number, count: number): number {
  return Math.ceil(count / lweDimension);
}

/** u64 words of a list's data (tfhe-rs `lwe_compact_ciphertext_list_size`): masks plus bodies. */
export function compactListWords(lweDimension: number, count: number): number {
  return compactListMaskCount(lweDimension, count) * lweDimension + count;
}

/**
 * Checks that a list holds exactly unsigned values of these block counts, in this order — what a
 * party's upload declares (one value per input, `digits` blocks each).
 * @throws EngineError `invalid_value`, naming what the list holds and what was declared.
 */
export function assertUnsignedValues(list: Pick<CompactCiphertextList, 'kinds'>, blockCounts: readonly number[]): void {
  const held = list.kinds.map((k) => (k.kind === 'unsigned' || k.kind === 'signed' ? `${k.kind}×${k.blocks}` : k.kind));
  const declared = blockCounts.map((n) => `unsigned×${n}`);
  if (held.join(',') !== declared.join(',')) {
    throw new EngineError('invalid_value', `CompactCiphertextList: holds [${held.join(', ')}], declared [${declared.join(', ')}]`);
  }
}
