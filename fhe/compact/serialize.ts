/**
 * `CompactCiphertextList.serialize()` bytes of tfhe 1.6.1 (bincode, no version tags), the
 * high-level list over its integer, shortint and core layers:
 *
 *   LweCompactCiphertextList { data: Vec<u64>, lwe_size, lwe_ciphertext_count, ciphertext_modulus },
 *   degree, message_modulus, carry_modulus,
 *   expansion_kind: RequiresCasting | NoCasting(AtomicPatternKind),
 *   info: Vec<DataKind>   (Unsigned(u64) | Signed(u64) | Boolean | String { n_chars: u32, padded: bool }),
 *   tag: bytes
 *
 * Accepted exactly: unpacked lists (`build()`, degree = message_modulus − 1) whose blocks need no
 * casting (`NoCasting(Standard(KeyswitchBootstrap))`, i.e. encrypted under the big key of the
 * computation parameters) with the native modulus. Packed lists, lists that need a casting key and
 * `safe_serialize` output are valid tfhe-rs objects this engine refuses with `unsupported`.
 */
import { readCompactListHeader } from '../../protocol/compact-list.ts';
import { EngineError } from '../errors.ts';
import type { ShortintParameters } from '../params/parameters.ts';
import { bigLweDimension } from '../params/parameters.ts';
import { copyWords } from '../serialize/bincode.ts';
import { asEngineError, type CompactCiphertextList } from './compact-list.ts';

export { MAX_TAG_BYTES } from '../../protocol/compact-list.ts';

const WHAT = 'CompactCiphertextList';

/**
 * Parses `CompactCiphertextList.serialize()` bytes. With `params`, also checks that the list's
 * ciphertexts are big-key ciphertexts (dimension k·N) with the key's message and carry moduli.
 * @throws EngineError `truncated`, `trailing_bytes`, `invalid_length`, `invalid_value`,
 *   `unsupported` (packed, casting, safe-serialized) or `parameter_mismatch`.
 */
export function deserializeCompactCiphertextList(bytes: Uint8Array, params?: ShortintParameters): CompactCiphertextList {
  // The header is read by the protocol's parser, which the gateway and the service check uploads with.
  const h = asEngineError(() => readCompactListHeader(bytes));
  const { lweDimension, messageModulus, carryModulus } = h;
  if (params) {
    const d = bigLweDimension(params);
    if (lweDimension !== d) {
      throw new EngineError('parameter_mismatch', `${WHAT}: LWE dimension ${lweDimension} does not match the key's k·N = ${d}`);
    }
    if (messageModulus !== params.messageModulus || carryModulus !== params.carryModulus) {
      throw new EngineError(
        'parameter_mismatch',
        `${WHAT}: message/carry modulus ${messageModulus}/${carryModulus} do not match the key's ${params.messageModulus}/${params.carryModulus}`,
      );
    }
  }
  return {
    data: copyWords(bytes.subarray(h.dataOffset, h.dataOffset + h.words * 8)),
    lweDimension,
    count: h.count,
    degree: h.degree,
    messageModulus,
    carryModulus,
    kinds: h.kinds,
    tag: bytes.slice(h.tagOffset, h.tagOffset + h.tagLength),
  };
}
