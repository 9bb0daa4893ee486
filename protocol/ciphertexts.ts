/**
 * Ciphertext payloads exchanged by every tier: a party's encrypted inputs (widget or party
 * backend → gateway → evaluator) and the encrypted result (evaluator → gateway → widget).
 *
 * Ciphertexts travel as base64 of the exact bytes `tfhe@1.6.1` writes
 * (`Shortint.serialize_compressed_ciphertext`, 124 bytes, or `Shortint.serialize_ciphertext`,
 * 16,464 bytes for the 2_2 parameter sets). Schemas bound every length so a body can be
 * rejected before anything is decoded; the evaluator's engine does the byte-level checks.
 */
import { z } from 'zod';

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
    .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64');

/** base64 of one compressed shortint ciphertext (what clients upload). */
export const CompressedCiphertextB64 = base64Of(COMPRESSED_CIPHERTEXT_BYTES);
/** base64 of one shortint ciphertext (what the evaluator returns). */
export const CiphertextB64 = base64Of(CIPHERTEXT_BYTES);

/** Identifies the model a payload was built for: the manifest's version hash. */
export const ModelVersion = z.string().regex(/^[0-9a-f]{16,64}$/, 'must be a hex version hash');

/**
 * One party's encrypted inputs. `inputs` maps each encrypted input name of the manifest (for
 * that party) to its 2-bit digits, least significant digit first, each a compressed ciphertext.
 */
export const PartyInputs = z
  .object({
    modelVersion: ModelVersion,
    party: Party,
    encoding: z.literal('shortint-compressed'),
    inputs: z
      .record(
        z.string().regex(/^[a-z][a-z0-9_]{0,63}$/),
        z.array(CompressedCiphertextB64).min(1).max(MAX_DIGITS_PER_INPUT),
      )
      .refine((r) => Object.keys(r).length <= MAX_INPUTS_PER_PARTY, 'too many inputs'),
  })
  .strict();
export type PartyInputs = z.infer<typeof PartyInputs>;

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

/** Encodes bytes as base64 in browsers, Workers and Node alike. */
export function bytesToBase64(bytes: Uint8Array): string {
  let s = '';
  const CHUNK = 0x8000;
  for (let i = 0; i < bytes.length; i += CHUNK) {
    s += String.fromCharCode(...bytes.subarray(i, i + CHUNK));
  }
  return btoa(s);
}

/** Decodes base64 (already validated by a schema above) into bytes. */
export function base64ToBytes(b64: string): Uint8Array {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}
