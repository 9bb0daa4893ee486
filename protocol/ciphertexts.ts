/**
 * Ciphertext payloads exchanged by every tier: a party's encrypted inputs (widget or party
 * backend → gateway → evaluator) and the encrypted result (evaluator → gateway → widget).
 *
 * Ciphertexts travel as base64 of the exact bytes `tfhe@1.6.1` writes
 * (`Shortint.serialize_compressed_ciphertext`, 124 bytes, or `Shortint.serialize_ciphertext`,
 * 16,464 bytes for the 2_2 parameter sets, or `CompactCiphertextList.serialize()` for parties
 * that encrypt with the session's compact public key). Schemas bound every length so a body can
 * be rejected before anything is decoded; the evaluator's engine does the byte-level checks.
 */
import { z } from 'zod';
import { base64ToBytes, bytesToBase64, isCanonicalBase64 } from './bytes.ts';

export { base64ToBytes, bytesToBase64 };

/** The three parties that contribute inputs to a decision. */
export const Party = z.enum(['applicant', 'bank', 'bureau']);
export type Party = z.infer<typeof Party>;

/** Serialized sizes for the supported 2_2 parameter sets (k·N = 2048). */
export const COMPRESSED_CIPHERTEXT_BYTES = 124;
export const CIPHERTEXT_BYTES = 16_464;

/** Upper bounds that keep every upload constant-size. */
export const MAX_INPUTS_PER_PARTY = 64;
export const MAX_DIGITS_PER_INPUT = 2;
export const MAX_EXPLANATION_BINS = 16;

const base64Of = (maxBytes: number) =>
  z
    .string()
    .max(Math.ceil(maxBytes / 3) * 4)
    // The pattern documents the shape in OpenAPI; the refinement is the decoder's own rule (it
    // also wants zero pad bits), so a body that passes always decodes (protocol/bytes.ts).
    .regex(/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/, 'must be padded base64 (RFC 4648)')
    .refine(isCanonicalBase64, 'must be canonical padded base64 (RFC 4648)');

/** base64 of one compressed shortint ciphertext (what clients upload). */
export const CompressedCiphertextB64 = base64Of(COMPRESSED_CIPHERTEXT_BYTES);
/** base64 of one shortint ciphertext (what the evaluator returns). */
export const CiphertextB64 = base64Of(CIPHERTEXT_BYTES);

/** Identifies the model a payload was built for: the manifest's version hash. */
export const ModelVersion = z.string().regex(/^[0-9a-f]{16,64}$/, 'must be a hex version hash');

/** Wire name of an encrypted input (the manifest's `inputs[].name`). */
export const InputName = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/);

/**
 * One party's inputs encrypted with the applicant's secret key (the widget's own inputs, and
 * every party's in demo mode). `inputs` maps each encrypted input name of the manifest (for that
 * party) to its 2-bit digits, least significant digit first, each a compressed ciphertext.
 */
export const PartyInputs = z
  .object({
    modelVersion: ModelVersion,
    party: Party,
    encoding: z.literal('shortint-compressed'),
    inputs: z
      .record(InputName, z.array(CompressedCiphertextB64).min(1).max(MAX_DIGITS_PER_INPUT))
      .refine((r) => Object.keys(r).length <= MAX_INPUTS_PER_PARTY, 'too many inputs'),
  })
  .strict();
export type PartyInputs = z.infer<typeof PartyInputs>;

/**
 * k·N of the supported 2_2 parameter sets: the dimension of every client ciphertext, and of the
 * ciphertexts a compact public key of those sets produces.
 */
export const BIG_LWE_DIMENSION = 2048;

/**
 * Largest `CompactCiphertextList.serialize()` upload for the 2_2 sets: one shared mask of
 * k·N = 2048 words, 8 bytes per block (at most 64 inputs × 2 digits), the list header and one
 * data kind per input (≈ 18.3 kB), rounded up.
 */
export const MAX_COMPACT_LIST_BYTES = 20 * 1024;

/**
 * One party's inputs encrypted with the session's compact public key (party backends, which never
 * hold the applicant's secret key): `list` is base64 of `CompactCiphertextList.serialize()`
 * (built with `build()`, not `build_packed()`), and `inputs` names its values in list order. An
 * input of one digit is pushed as a 2-bit unsigned value (1 block), one of two digits as a 4-bit
 * one (2 blocks, least significant first): `digits` is that block count, and must be the
 * manifest's.
 */
export const CompactListInputs = z
  .object({
    modelVersion: ModelVersion,
    party: Party,
    encoding: z.literal('compact-list'),
    inputs: z
      .array(z.object({ name: InputName, digits: z.int().min(1).max(MAX_DIGITS_PER_INPUT) }).strict())
      .min(1)
      .max(MAX_INPUTS_PER_PARTY)
      .refine((a) => new Set(a.map((i) => i.name)).size === a.length, 'input names must be unique'),
    list: base64Of(MAX_COMPACT_LIST_BYTES).min(1),
  })
  .strict();
export type CompactListInputs = z.infer<typeof CompactListInputs>;

/**
 * What `PUT …/inputs/:party` takes: one party's encrypted inputs in either encoding,
 * {@link PartyInputs} (`shortint-compressed`) or {@link CompactListInputs} (`compact-list`).
 */
export const PartyUpload = z.discriminatedUnion('encoding', [PartyInputs, CompactListInputs]);
export type PartyUpload = z.infer<typeof PartyUpload>;

/**
 * The encrypted result of one run: the decision bit and one bit per explanation bin
 * (`explanation[i]` answers "would the applicant be approved with years employed in
 * `bins[i]`, and is that bin at least the applicant's own").
 */
export const EncryptedResult = z
  .object({
    modelVersion: ModelVersion,
    decision: CiphertextB64,
    explanation: z
      .object({
        bins: z.array(z.string().max(16)).max(MAX_EXPLANATION_BINS),
        ciphertexts: z.array(CiphertextB64).max(MAX_EXPLANATION_BINS),
      })
      .strict()
      .refine((e) => e.bins.length === e.ciphertexts.length, 'one ciphertext per bin'),
  })
  .strict();
export type EncryptedResult = z.infer<typeof EncryptedResult>;
