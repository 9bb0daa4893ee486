/**
 * Compact-list expansion (tfhe-rs `expand_lwe_compact_ciphertext_list` and
 * `shortint::CompactCiphertextList::expand` with `NoCasting`): ciphertext j·d + i gets the mask
 * mask_j·X^i in Z_{2^64}[X]/(X^d + 1), the Ψ of Joye's construction (eprint 2023/603, §4), and its
 * own body. The result is a shortint ciphertext under the big key with the list's degree and
 * tfhe-rs's nominal noise level, ready for a keyswitch-PBS.
 *
 * Why noise level 1 is sound (tfhe-rs assigns `NoiseLevel::NOMINAL` to these blocks too): the
 * decryption noise of a compact-public-key encryption is Σ e_j·r_j + Σ e'_j·s_j + e'' over
 * d = k·N terms of the parameter set's GLWE noise with binary r and s, i.e. a variance of about
 * d·σ²_glwe, some 2^11 times a fresh secret-key encryption's. That is still ~2^-60 of the noise
 * the keyswitch and modulus switch add inside the PBS, and far below the noise of a PBS output,
 * which is what noise level 1 budgets for. See the engine README, "Compact lists".
 */
import { EngineError } from '../errors.ts';
import type { Ciphertext } from '../entities/ciphertext.ts';
import type { LookupTable } from '../entities/lookup-table.ts';
import type { ShortintParameters } from '../params/parameters.ts';
import { bigLweDimension } from '../params/parameters.ts';
import { createLookupTable } from '../shortint/lookup-table.ts';
import type { CompactCiphertextList, DataKind } from './compact-list.ts';
import { compactListMaskCount, compactListWords, dataKindBlocks, totalBlocks } from './compact-list.ts';

/** Checks a list object (possibly received through `postMessage`) before indexing into it. */
export function assertCompactListConformant(list: CompactCiphertextList, params?: ShortintParameters): void {
  const d = list?.lweDimension;
  if (
    !list ||
    !(list.data instanceof Uint32Array) ||
    !Number.isSafeInteger(d) ||
    d < 1 ||
    !Number.isSafeInteger(list.count) ||
    list.count < 0
  ) {
    throw new EngineError('invalid_argument', 'not a CompactCiphertextList');
  }
  if (list.data.length !== 2 * compactListWords(d, list.count)) {
    throw new EngineError(
      'invalid_argument',
      `CompactCiphertextList: ${list.data.length / 2} words for ${list.count} ciphertexts of dimension ${d}`,
    );
  }
  if (!Array.isArray(list.kinds) || totalBlocks(list.kinds, list.messageModulus) !== list.count) {
    throw new EngineError('invalid_argument', `CompactCiphertextList: its data kinds do not describe ${list.count} blocks`);
  }
  if (params) {
    if (d !== bigLweDimension(params)) {
      throw new EngineError(
        'parameter_mismatch',
        `CompactCiphertextList: LWE dimension ${d} does not match the key's k·N = ${bigLweDimension(params)}`,
      );
    }
    if (list.messageModulus !== params.messageModulus || list.carryModulus !== params.carryModulus) {
      throw new EngineError(
        'parameter_mismatch',
        `CompactCiphertextList: message/carry modulus ${list.messageModulus}/${list.carryModulus} do not match the key's ` +
          `${params.messageModulus}/${params.carryModulus}`,
      );
    }
  }
}

/**
 * Writes ciphertext `index` of the list into `out` (2·(d+1) words): the mask of its bin times
 * X^slot, negacyclically (a coefficient that wraps past X^d changes sign), then its body.
 */
export function expandCompactListEntry(list: CompactCiphertextList, index: number, out: Uint32Array): void {
  const d = list.lweDimension;
  const slot = index % d;
  const mask = 2 * (index - slot); // bin·d words
  const body = 2 * (compactListMaskCount(d, list.count) * d + index);
  const src = list.data;
  // out[k] = −mask[k − slot + d] for k < slot: the u64 negation of a (lo, hi) pair.
  for (let k = 0; k < slot; k++) {
    const lo = src[mask + 2 * (k - slot + d)]!;
    const hi = src[mask + 2 * (k - slot + d) + 1]!;
    out[2 * k] = -lo >>> 0;
    out[2 * k + 1] = (lo === 0 ? -hi : ~hi) >>> 0;
  }
  // out[k] = mask[k − slot] for k ≥ slot.
  out.set(src.subarray(mask, mask + 2 * (d - slot)), 2 * slot);
  out[2 * d] = src[body]!;
  out[2 * d + 1] = src[body + 1]!;
}

/**
 * Expands a list into shortint ciphertexts, grouped per pushed value: `result[v]` holds the
 * blocks of `list.kinds[v]` (least significant first). Each block has the list's degree
 * (messageModulus − 1) and noise level 1. No bootstrap is run: apply
 * {@link createSanitizeLookupTable}'s table to enforce the declared degree when the encrypting
 * party is not trusted to respect it.
 * @throws EngineError `invalid_argument` for a malformed list object, `parameter_mismatch` with
 *   `params` of another set.
 */
export function expandCompactCiphertextList(list: CompactCiphertextList, params?: ShortintParameters): Ciphertext[][] {
  assertCompactListConformant(list, params);
  const d = list.lweDimension;
  const meta = { degree: list.degree, noiseLevel: 1, messageModulus: list.messageModulus, carryModulus: list.carryModulus };
  const values: Ciphertext[][] = [];
  let index = 0;
  for (const kind of list.kinds) {
    const blocks: Ciphertext[] = [];
    for (let b = dataKindBlocks(kind, list.messageModulus); b > 0; b--) {
      const data = new Uint32Array(2 * (d + 1));
      expandCompactListEntry(list, index++, data);
      blocks.push({ data, ...meta });
    }
    values.push(blocks);
  }
  return values;
}

/**
 * The table tfhe-rs's high-level expansion bootstraps each unpacked block with
 * (`sanitize_blocks`): an integer block keeps its message and drops any carry (v mod msg), a
 * boolean block becomes 1 when its message is non-zero. After it, the block's degree is a fact,
 * not a claim of the encrypting side.
 * @throws EngineError `unsupported` for string blocks.
 */
export function createSanitizeLookupTable(params: ShortintParameters, kind: DataKind): LookupTable {
  const msg = params.messageModulus;
  switch (kind.kind) {
    case 'unsigned':
    case 'signed':
      return createLookupTable(params, (v) => v % msg);
    case 'boolean':
      return createLookupTable(params, (v) => (v % msg === 0 ? 0 : 1));
    case 'string':
      throw new EngineError('unsupported', 'string blocks are not supported by the engine');
  }
}
