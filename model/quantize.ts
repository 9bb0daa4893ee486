/**
 * Quantization: raw feature values → small integer codes → 2-bit digits to encrypt.
 *
 * Every encrypted input holds at most 4 bits (codes 0..15), the plaintext space of one 2_2
 * shortint ciphertext without its padding bit. The official client's `Shortint.encrypt` keeps
 * only the message (mod 4), so a code is uploaded as `digits` 2-bit ciphertexts, least
 * significant first, which the evaluator recombines as `4·high + low`.
 *
 * Quantizers are computed from training data (`fit-quantizers.ts`), stored in the public
 * manifest, and applied by this module identically in the widget, the party SDK and tests.
 *
 * Browser-safe: no Node imports.
 */
import { z } from 'zod';
import { Party } from '../protocol/ciphertexts.ts';
import { ModelError, formatIssues } from './errors.ts';
import { FEATURE_NAMES, FEATURE_SPECS, PARTY_FEATURES, type CreditFeatures, type FeatureName } from './features.ts';

/** Largest code an encrypted input may hold (4 bits). */
export const MAX_CODE = 15;
/** Bits carried by one uploaded digit ciphertext (the 2_2 message modulus is 4). */
export const DIGIT_BITS = 2;
export const DIGIT_BASE = 1 << DIGIT_BITS;

/** A boolean feature: false → 0, true → 1. */
export const BooleanQuantizer = z.object({ kind: z.literal('boolean') }).strict();

/**
 * A numeric feature: the code is the number of cut points ≤ the value, so `cuts` (strictly
 * increasing, at most 15) split the line into `cuts.length + 1` levels.
 */
export const ThresholdQuantizer = z
  .object({
    kind: z.literal('thresholds'),
    cuts: z.array(z.number().finite()).max(MAX_CODE),
  })
  .strict()
  .refine((q) => q.cuts.every((c, i) => i === 0 || c > q.cuts[i - 1]!), {
    message: 'cuts must be strictly increasing',
    path: ['cuts'],
  });

/**
 * A categorical feature: each value maps to a code. Several values may share a code (grouping,
 * e.g. 24 occupations → 3 groups), which is how a large category fits in 4 bits.
 */
export const CategoryQuantizer = z
  .object({
    kind: z.literal('category'),
    codes: z.record(z.string().min(1).max(64), z.int().min(0).max(MAX_CODE)),
  })
  .strict();

export const Quantizer = z.discriminatedUnion('kind', [BooleanQuantizer, ThresholdQuantizer, CategoryQuantizer]);
export type Quantizer = z.infer<typeof Quantizer>;

/** One encrypted input of the model: which feature it encodes, who encrypts it, and how. */
export const EncryptedInput = z
  .object({
    /** Wire name (`PartyInputs.inputs` key). */
    name: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/),
    feature: z.enum(FEATURE_NAMES as [FeatureName, ...FeatureName[]]),
    party: Party,
    /** Bits of the code, 1..4. */
    bits: z.int().min(1).max(4),
    /** 2-bit digit ciphertexts uploaded for this input: ceil(bits / 2). */
    digits: z.int().min(1).max(2),
    quantizer: Quantizer,
  })
  .strict();
export type EncryptedInput = z.infer<typeof EncryptedInput>;

/** Number of distinct codes a quantizer produces (its largest code + 1). */
export function quantizerLevels(q: Quantizer): number {
  switch (q.kind) {
    case 'boolean':
      return 2;
    case 'thresholds':
      return q.cuts.length + 1;
    case 'category':
      return Math.max(0, ...Object.values(q.codes)) + 1;
  }
}

/** Bits needed for a number of levels (at least 1). */
export function bitsForLevels(levels: number): number {
  return Math.max(1, Math.ceil(Math.log2(levels)));
}

/** Digit ciphertexts needed for a number of bits. */
export function digitsForBits(bits: number): number {
  return Math.ceil(bits / DIGIT_BITS);
}

/** Quantizes one already-validated raw value. */
export function quantizeValue(q: Quantizer, value: boolean | number | string, name = 'value'): number {
  switch (q.kind) {
    case 'boolean':
      if (typeof value !== 'boolean') break;
      return value ? 1 : 0;
    case 'thresholds': {
      if (typeof value !== 'number' || !Number.isFinite(value)) break;
      let code = 0;
      while (code < q.cuts.length && value >= q.cuts[code]!) code++;
      return code;
    }
    case 'category': {
      if (typeof value !== 'string') break;
      const code = Object.hasOwn(q.codes, value) ? q.codes[value] : undefined;
      if (code === undefined) {
        throw new ModelError('invalid_features', `${name}: unknown category ${JSON.stringify(value)}`, {
          feature: name,
        });
      }
      return code;
    }
  }
  throw new ModelError('invalid_features', `${name}: a ${q.kind} quantizer cannot encode ${typeof value}`, {
    feature: name,
  });
}

/**
 * The features of a party that the model's inputs read (data minimisation: the only answers a
 * party is asked for, validated and encrypted), in form order.
 */
export function readFeatures(inputs: readonly EncryptedInput[], party: Party): FeatureName[] {
  const read = new Set(inputs.filter((i) => i.party === party).map((i) => i.feature));
  return FEATURE_NAMES.filter((name) => read.has(name));
}

/**
 * Validates a party's raw answers to the features the inputs read, and quantizes them. Answers
 * to the party's other features are ignored (never validated, encoded or sent); a key that is
 * not one of the party's features is refused.
 * @returns input name → code, for the inputs that party owns.
 * @throws ModelError `invalid_features` naming every failing feature.
 */
export function quantizePartyFeatures(inputs: readonly EncryptedInput[], party: Party, features: unknown): Record<string, number> {
  const shape: Record<string, z.ZodType> = PARTY_FEATURES[party].shape;
  const read = readFeatures(inputs, party);
  // A whole record may be passed: the party's features the model does not read are dropped
  // unseen; a key that is no feature of the party at all is refused (a typo, another party's).
  const given =
    features !== null && typeof features === 'object' && !Array.isArray(features)
      ? Object.fromEntries(Object.entries(features).filter(([k]) => read.includes(k as FeatureName) || !Object.hasOwn(shape, k)))
      : features;
  const parsed = z
    .object(Object.fromEntries(read.map((name) => [name, shape[name]!])))
    .strict()
    .safeParse(given);
  if (!parsed.success) {
    throw new ModelError('invalid_features', `${party} features: ${formatIssues(parsed.error.issues)}`, {
      party,
      paths: parsed.error.issues.map((i) => i.path.join('.')),
    });
  }
  const values = parsed.data as Record<string, boolean | number | string>;
  const out: Record<string, number> = {};
  for (const input of inputs) {
    if (input.party !== party) continue;
    out[input.name] = quantizeValue(input.quantizer, values[input.feature]!, input.feature);
  }
  return out;
}

/** Quantizes an application that is already known to satisfy the schema (hot path). */
export function quantizeParsed(inputs: readonly EncryptedInput[], features: CreditFeatures): Record<string, number> {
  const out: Record<string, number> = {};
  for (const input of inputs) out[input.name] = quantizeValue(input.quantizer, features[input.feature], input.feature);
  return out;
}

/** Splits a code into 2-bit digits, least significant first. */
export function toDigits(code: number, digits: number): number[] {
  if (!Number.isInteger(code) || code < 0 || code >= DIGIT_BASE ** digits) {
    throw new RangeError(`code ${code} does not fit in ${digits} digit(s)`);
  }
  const out: number[] = [];
  for (let i = 0; i < digits; i++) out.push((code >> (DIGIT_BITS * i)) & (DIGIT_BASE - 1));
  return out;
}

/** Recombines digits (least significant first) into a code. */
export function fromDigits(digits: readonly number[]): number {
  return digits.reduceRight((acc, d) => acc * DIGIT_BASE + d, 0);
}

/**
 * What a party encrypts: its raw answers validated, quantized and split into digits.
 * @returns input name → 2-bit digits (least significant first), one `Shortint.encrypt` each.
 * @example
 * const digits = encodePartyInputs(manifest.inputs, 'bureau', { years_employed: '5-8', employed: true });
 * // { years_employed: [2, 0], employed: [1] }
 */
export function encodePartyInputs(inputs: readonly EncryptedInput[], party: Party, features: unknown): Record<string, number[]> {
  const codes = quantizePartyFeatures(inputs, party, features);
  const out: Record<string, number[]> = {};
  for (const input of inputs) {
    if (input.party === party) out[input.name] = toDigits(codes[input.name]!, input.digits);
  }
  return out;
}

/**
 * Checks that an encrypted input is coherent with the feature schema: the quantizer fits the
 * feature's kind, a category quantizer codes exactly the feature's values, the codes fit in
 * `bits`, and `digits` matches `bits`. Returns problems as text (empty when fine).
 */
export function inputProblems(input: EncryptedInput): string[] {
  const problems: string[] = [];
  const spec = FEATURE_SPECS[input.feature];
  const q = input.quantizer;
  const where = `input ${input.name}`;
  if (spec.party !== input.party) problems.push(`${where}: feature ${input.feature} belongs to ${spec.party}, not ${input.party}`);
  const expected = spec.kind === 'boolean' ? 'boolean' : spec.kind === 'category' ? 'category' : 'thresholds';
  if (q.kind !== expected) problems.push(`${where}: a ${spec.kind} feature needs a ${expected} quantizer, got ${q.kind}`);
  if (q.kind === 'category' && spec.kind === 'category') {
    const keys = Object.keys(q.codes).sort();
    const values = [...spec.values].sort();
    if (keys.join('\u0000') !== values.join('\u0000')) {
      problems.push(`${where}: category codes must cover exactly ${spec.values.join(', ')}`);
    }
  }
  const levels = quantizerLevels(q);
  if (levels > 2 ** input.bits) problems.push(`${where}: ${levels} levels do not fit in ${input.bits} bit(s)`);
  if (input.digits !== digitsForBits(input.bits)) {
    problems.push(`${where}: ${input.bits} bit(s) need ${digitsForBits(input.bits)} digit(s), not ${input.digits}`);
  }
  return problems;
}
