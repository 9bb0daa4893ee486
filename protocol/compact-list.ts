/**
 * A party's compact ciphertext list, as every tier reads it: the gateway checks an upload before
 * storing it, the evaluator service checks it again on arrival, and the engine's parser
 * (`fhe/compact/serialize.ts`) reads the same header here before copying the data.
 *
 * Bytes are `CompactCiphertextList.serialize()` of tfhe 1.6.1 (bincode 1.3 default options:
 * little-endian fixed-width integers, u64 length prefixes, u32 enum tags, no version tags):
 *
 *   LweCompactCiphertextList { data: Vec<u64>, lwe_size, lwe_ciphertext_count, ciphertext_modulus },
 *   degree, message_modulus, carry_modulus,
 *   expansion_kind: RequiresCasting | NoCasting(AtomicPatternKind),
 *   info: Vec<DataKind>   (Unsigned(u64) | Signed(u64) | Boolean | String { n_chars: u32, padded: bool }),
 *   tag: bytes
 *
 * Accepted exactly: unpacked lists (`build()`, degree = message_modulus − 1) whose blocks need no
 * casting (`NoCasting(Standard(KeyswitchBootstrap))`) with the native modulus. Packed lists, lists
 * that need a casting key and `safe_serialize` output are valid tfhe-rs objects refused as
 * `unsupported`. Pure TypeScript over `Uint8Array` and `DataView`: browsers, Workers and Node.
 */
import { BincodeReader, FormatError, type FormatErrorCode } from './bincode-reader.ts';
import { COMPACT_PUBLIC_KEY_SHAPES, type CompactPublicKeySetId } from './compact-public-key.ts';

/** Why a list was refused (see `FormatErrorCode`). */
export type CompactListErrorCode = FormatErrorCode;

/** A refused compact list. */
export class CompactListError extends FormatError {
  override readonly name = 'CompactListError';
}

export function isCompactListError(e: unknown): e is CompactListError {
  return e instanceof CompactListError;
}

/** tfhe-rs `integer::ciphertext::DataKind`: what one pushed value is made of. */
export type DataKind =
  | { readonly kind: 'unsigned'; readonly blocks: number }
  | { readonly kind: 'signed'; readonly blocks: number }
  | { readonly kind: 'boolean' }
  | { readonly kind: 'string'; readonly chars: number; readonly padded: boolean };

/** Everything of a list but its data, which stays in the bytes at `dataOffset`. */
export interface CompactListHeader {
  /** Byte offset of the `words` u64 data words (masks, then bodies) in the parsed bytes. */
  readonly dataOffset: number;
  readonly words: number;
  /** d: the LWE dimension of every ciphertext of the list. */
  readonly lweDimension: number;
  /** Number of LWE ciphertexts (shortint blocks). */
  readonly count: number;
  /** messageModulus − 1: only unpacked lists are read. */
  readonly degree: number;
  readonly messageModulus: number;
  readonly carryModulus: number;
  /** One entry per pushed value, in push order. */
  readonly kinds: readonly DataKind[];
  /** Byte offset and length of the tag, which nothing interprets. */
  readonly tagOffset: number;
  readonly tagLength: number;
}

const WHAT = 'CompactCiphertextList';
/** 2^24 words (128 MiB): far above any list a party uploads. */
const MAX_LIST_WORDS = 2 ** 24;
const MAX_KINDS = 2 ** 20;
/** The largest LWE size any supported ciphertext has (dimension ≤ 2^17). */
const MAX_LWE_SIZE = 2 ** 17 + 1;
/** The tag is never read; a long one is refused rather than copied. */
export const MAX_TAG_BYTES = 1024;

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
      throw new CompactListError('invalid_length', `${WHAT}: the data kinds add up to more than ${Number.MAX_SAFE_INTEGER} blocks`);
    }
  }
  return total;
}

/** u64 words of a list's data (tfhe-rs `lwe_compact_ciphertext_list_size`): ⌈count/d⌉ masks of d words, plus bodies. */
export function compactListWords(lweDimension: number, count: number): number {
  return Math.ceil(count / lweDimension) * lweDimension + count;
}

/** `safe_serialize` starts with its format version as a bincode string: u64 length 3, then "0.". */
function looksSafeSerialized(bytes: Uint8Array): boolean {
  return bytes.length >= 10 && bytes[0] === 3 && bytes.subarray(1, 8).every((b) => b === 0) && bytes[8] === 0x30 && bytes[9] === 0x2e;
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
      if (padded > 1) throw new CompactListError('invalid_value', `${WHAT}: ${field} padded flag is ${padded}, not a bool`);
      return { kind: 'string', chars, padded: padded === 1 };
    }
  }
}

/**
 * Parses and checks a whole list (lengths, moduli, enum tags, kinds against the block count)
 * without copying its data.
 * @throws CompactListError `truncated`, `trailing_bytes`, `invalid_length`, `invalid_value` or
 *   `unsupported` (packed, casting, safe-serialized, custom modulus).
 */
export function readCompactListHeader(bytes: Uint8Array): CompactListHeader {
  if (looksSafeSerialized(bytes)) {
    throw new CompactListError(
      'unsupported',
      `${WHAT}: these are safe_serialize bytes (versioned); send CompactCiphertextList.serialize() bytes`,
    );
  }
  const r = new BincodeReader(bytes, WHAT, (code, message) => new CompactListError(code, message));
  const wordsPrefix = r.u64('list data length');
  if (wordsPrefix > BigInt(MAX_LIST_WORDS)) {
    throw new CompactListError(
      'invalid_length',
      `${WHAT}: list data declares ${wordsPrefix} words, more than the ${MAX_LIST_WORDS} allowed`,
    );
  }
  const words = Number(wordsPrefix);
  const dataOffset = r.take(words * 8, `list data (${words} words)`);
  const lweSize = r.u64InRange('LWE size', 2, MAX_LWE_SIZE);
  const count = r.lengthPrefix('LWE ciphertext count', MAX_LIST_WORDS);
  r.nativeModulus(WHAT);
  const degree = r.u64InRange('degree', 0, Number.MAX_SAFE_INTEGER);
  const messageModulus = r.u64InRange('message modulus', 2, 2 ** 16);
  const carryModulus = r.u64InRange('carry modulus', 2, 2 ** 16);
  if (r.tag('expansion kind', ['RequiresCasting', 'NoCasting']) === 0) {
    throw new CompactListError(
      'unsupported',
      `${WHAT}: the list was encrypted with dedicated compact public-key parameters and needs a casting key; ` +
        'encrypt with a compact public key of the computation parameters',
    );
  }
  if (r.tag(`${WHAT} atomic pattern`, ['Standard', 'KeySwitch32']) !== 0) {
    throw new CompactListError('unsupported', `${WHAT}: the KeySwitch32 atomic pattern is not supported`);
  }
  if (r.tag(`${WHAT} PBS order`, ['KeyswitchBootstrap', 'BootstrapKeyswitch']) !== 0) {
    throw new CompactListError('unsupported', `${WHAT}: the BootstrapKeyswitch PBS order is not supported`);
  }
  const kindCount = r.lengthPrefix('data kind count', MAX_KINDS);
  // Every kind takes at least its 4-byte tag: refuse a count the bytes cannot hold before looping.
  if (kindCount * 4 > r.remaining) {
    throw new CompactListError(
      'truncated',
      `${WHAT}: ${kindCount} data kinds need at least ${kindCount * 4} bytes, only ${r.remaining} remain`,
    );
  }
  const kinds: DataKind[] = [];
  for (let i = 0; i < kindCount; i++) kinds.push(readDataKind(r, i));
  const tagLength = r.lengthPrefix('tag length', MAX_TAG_BYTES);
  const tagOffset = r.take(tagLength, 'tag');
  r.end();

  const lweDimension = lweSize - 1;
  if (words !== compactListWords(lweDimension, count)) {
    throw new CompactListError(
      'invalid_length',
      `${WHAT}: ${words} data words do not hold ${count} ciphertexts of dimension ${lweDimension} (expected ${compactListWords(lweDimension, count)})`,
    );
  }
  if (degree > messageModulus - 1) {
    throw new CompactListError(
      'unsupported',
      `${WHAT}: packed lists (degree ${degree} > ${messageModulus - 1}, build_packed) are not supported; use build()`,
    );
  }
  if (degree !== messageModulus - 1) {
    throw new CompactListError(
      'invalid_value',
      `${WHAT}: degree ${degree}, an unpacked list declares message modulus − 1 = ${messageModulus - 1}`,
    );
  }
  const blocks = totalBlocks(kinds, messageModulus);
  if (blocks !== count) {
    throw new CompactListError('invalid_length', `${WHAT}: the data kinds describe ${blocks} blocks, the list holds ${count} ciphertexts`);
  }
  return { dataOffset, words, lweDimension, count, degree, messageModulus, carryModulus, kinds, tagOffset, tagLength };
}

/**
 * Checks that a list holds exactly unsigned values of these block counts, in this order — what a
 * party's upload declares (one value per input, `digits` blocks each).
 * @throws CompactListError `invalid_value`, naming what the list holds and what was declared.
 */
export function assertUnsignedValues(list: Pick<CompactListHeader, 'kinds'>, blockCounts: readonly number[]): void {
  const held = list.kinds.map((k) => (k.kind === 'unsigned' || k.kind === 'signed' ? `${k.kind}×${k.blocks}` : k.kind));
  const declared = blockCounts.map((n) => `unsigned×${n}`);
  if (held.join(',') !== declared.join(',')) {
    throw new CompactListError('invalid_value', `${WHAT}: holds [${held.join(', ')}], declared [${declared.join(', ')}]`);
  }
}

/**
 * The one upload check both tiers run: the list parses, its ciphertexts are those the set's
 * compact public key makes (dimension k·N, moduli; {@link COMPACT_PUBLIC_KEY_SHAPES}) and it
 * holds exactly the declared inputs. `setName` names the set in the message.
 * @throws CompactListError a parse code, `parameter_mismatch`, or `invalid_value` for other values.
 * @example
 * checkCompactListUpload(bytes, manifest.parameterSet.id, upload.inputs.map((i) => i.digits), manifest.parameterSet.tfheName);
 */
export function checkCompactListUpload(
  bytes: Uint8Array,
  setId: CompactPublicKeySetId,
  blockCounts: readonly number[],
  setName: string = setId,
): CompactListHeader {
  const header = readCompactListHeader(bytes);
  const shape = COMPACT_PUBLIC_KEY_SHAPES[setId];
  if (
    header.lweDimension !== shape.lweDimension ||
    header.messageModulus !== shape.messageModulus ||
    header.carryModulus !== shape.carryModulus
  ) {
    throw new CompactListError(
      'parameter_mismatch',
      `has dimension ${header.lweDimension} and message/carry modulus ${header.messageModulus}/${header.carryModulus}; ` +
        `${setName} needs ${shape.lweDimension} and ${shape.messageModulus}/${shape.carryModulus}`,
    );
  }
  assertUnsignedValues(header, blockCounts);
  return header;
}
