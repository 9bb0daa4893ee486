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
import { EngineError } from '../errors.ts';
import type { ShortintParameters } from '../params/parameters.ts';
import { bigLweDimension } from '../params/parameters.ts';
import { BincodeReader, copyWords } from '../serialize/bincode.ts';
import { MAX_CIPHERTEXT_LWE_SIZE, MAX_METADATA, readNativeCiphertextModulus, readStandardKsPbsAtomicPattern } from '../serialize/common.ts';
import type { CompactCiphertextList, DataKind } from './compact-list.ts';
import { compactListWords, totalBlocks } from './compact-list.ts';

const WHAT = 'CompactCiphertextList';
/** 2^24 words (128 MiB): far above any list a party uploads. */
const MAX_LIST_WORDS = 2 ** 24;
const MAX_KINDS = 2 ** 20;
/** The engine never reads the tag; a long one is refused rather than copied. */
export const MAX_TAG_BYTES = 1024;

/** `safe_serialize` starts with its format version as a bincode string: u64 length 3, then "0.". */
function looksSafeSerialized(bytes: Uint8Array): boolean {
  return bytes.length >= 10 && bytes[0] === 3 && bytes.subarray(1, 8).every((b) => b === 0) && bytes[8] === 0x30 && bytes[9] === 0x2e;
}

/** A u64 count or length prefix: above `max` it is absurd (`invalid_length`). */
function lengthPrefix(r: BincodeReader, field: string, max: number): number {
  const v = r.u64(field);
  if (v > BigInt(max)) throw new EngineError('invalid_length', `${WHAT}: ${field} is ${v}, more than the ${max} allowed`);
  return Number(v);
}

function readDataKind(r: BincodeReader, i: number): DataKind {
  const field = `data kind ${i}`;
  const tag = r.tag(field, ['Unsigned', 'Signed', 'Boolean', 'String']);
  switch (tag) {
    case 0:
    case 1: {
      // NonZeroUsize: 0 is refused by tfhe-rs's deserializer too.
      const blocks = r.u64InRange(`${field} block count`, 1, MAX_LIST_WORDS);
      return { kind: tag === 0 ? 'unsigned' : 'signed', blocks };
    }
    case 2:
      return { kind: 'boolean' };
    default: {
      const chars = r.u32(`${field} character count`);
      const padded = r.u8(`${field} padded flag`);
      if (padded > 1) throw new EngineError('invalid_value', `${WHAT}: ${field} padded flag is ${padded}, not a bool`);
      return { kind: 'string', chars, padded: padded === 1 };
    }
  }
}

/**
 * Parses `CompactCiphertextList.serialize()` bytes. With `params`, also checks that the list's
 * ciphertexts are big-key ciphertexts (dimension k·N) with the key's message and carry moduli.
 * @throws EngineError `truncated`, `trailing_bytes`, `invalid_length`, `invalid_value`,
 *   `unsupported` (packed, casting, safe-serialized) or `parameter_mismatch`.
 */
export function deserializeCompactCiphertextList(bytes: Uint8Array, params?: ShortintParameters): CompactCiphertextList {
  if (looksSafeSerialized(bytes)) {
    throw new EngineError('unsupported', `${WHAT}: these are safe_serialize bytes (versioned); send CompactCiphertextList.serialize() bytes`);
  }
  const r = new BincodeReader(bytes, WHAT);
  const words = r.vecLength('list data', MAX_LIST_WORDS);
  const dataView = r.u64WordsView(words, 'list data');
  const lweSize = r.u64InRange('LWE size', 2, MAX_CIPHERTEXT_LWE_SIZE);
  const count = lengthPrefix(r, 'LWE ciphertext count', MAX_LIST_WORDS);
  readNativeCiphertextModulus(r, WHAT);
  const degree = r.u64InRange('degree', 0, MAX_METADATA);
  const messageModulus = r.u64InRange('message modulus', 2, 2 ** 16);
  const carryModulus = r.u64InRange('carry modulus', 2, 2 ** 16);
  const expansion = r.tag('expansion kind', ['RequiresCasting', 'NoCasting']);
  if (expansion === 0) {
    throw new EngineError(
      'unsupported',
      `${WHAT}: the list was encrypted with dedicated compact public-key parameters and needs a casting key; ` +
        'encrypt with a compact public key of the computation parameters',
    );
  }
  readStandardKsPbsAtomicPattern(r, WHAT);
  const kindCount = lengthPrefix(r, 'data kind count', MAX_KINDS);
  // Every kind takes at least its 4-byte tag: refuse a count the bytes cannot hold before looping.
  if (kindCount * 4 > r.remaining) {
    throw new EngineError('truncated', `${WHAT}: ${kindCount} data kinds need at least ${kindCount * 4} bytes, only ${r.remaining} remain`);
  }
  const kinds: DataKind[] = [];
  for (let i = 0; i < kindCount; i++) kinds.push(readDataKind(r, i));
  const tagLength = lengthPrefix(r, 'tag length', MAX_TAG_BYTES);
  const tag = r.rawBytes(tagLength, 'tag');
  r.end();

  const lweDimension = lweSize - 1;
  if (words !== compactListWords(lweDimension, count)) {
    throw new EngineError(
      'invalid_length',
      `${WHAT}: ${words} data words do not hold ${count} ciphertexts of dimension ${lweDimension} ` +
        `(expected ${compactListWords(lweDimension, count)})`,
    );
  }
  if (degree > messageModulus - 1) {
    throw new EngineError('unsupported', `${WHAT}: packed lists (degree ${degree} > ${messageModulus - 1}, build_packed) are not supported; use build()`);
  }
  if (degree !== messageModulus - 1) {
    throw new EngineError('invalid_value', `${WHAT}: degree ${degree}, an unpacked list declares message modulus − 1 = ${messageModulus - 1}`);
  }
  const blocks = totalBlocks(kinds, messageModulus);
  if (blocks !== count) {
    throw new EngineError('invalid_length', `${WHAT}: the data kinds describe ${blocks} blocks, the list holds ${count} ciphertexts`);
  }
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
  return { data: copyWords(dataView), lweDimension, count, degree, messageModulus, carryModulus, kinds, tag };
}
