/**
 * The public manifest (`model/artifacts/manifest.json`): what every party may read. The feature
 * schema and which party owns each feature, the encrypted inputs and their quantizers, the FHE
 * parameter set, the form's labels and the explanation bins. Nothing about how the model was
 * trained or how well it does: a bank's approval rate and model performance are confidential, and
 * live in the private file (`private-model.ts`) with the tree itself.
 *
 * The widget, gateway and party SDK import only this module; {@link parseManifest} checks a
 * manifest's format and consistency but not its `modelVersion`, which needs the private file
 * (`loadModel` in `private-model.ts`).
 *
 * Browser-safe: no Node imports.
 */
import { z } from 'zod';
import { ModelVersion, Party } from '../protocol/ciphertexts.ts';
import { ModelError, formatIssues } from './errors.ts';
import {
  EDUCATION_TYPES,
  FAMILY_STATUSES,
  FEATURE_NAMES,
  FEATURE_SPECS,
  HOUSING_TYPES,
  INCOME_TYPES,
  OCCUPATION_TYPES,
  YEARS_EMPLOYED_BINS,
  type FeatureName,
  type FeatureSpec,
} from './features.ts';
import { EncryptedInput, inputProblems, quantizerLevels, quantizeValue } from './quantize.ts';

export const MANIFEST_KIND = 'blindscore.manifest';
/** The format version of the manifest and of the private files sealed with it. */
export const FORMAT_VERSION = 1;

// ---------------------------------------------------------------------------------------------
// Schemas

const FeatureNameSchema = z.enum(FEATURE_NAMES as [FeatureName, ...FeatureName[]]);

/** One feature of the schema, as published (mirrors `FEATURE_SPECS`). */
export const FeatureDescriptor = z.discriminatedUnion('kind', [
  z.object({ name: FeatureNameSchema, party: Party, kind: z.literal('boolean') }).strict(),
  z
    .object({
      name: FeatureNameSchema,
      party: Party,
      kind: z.enum(['integer', 'number']),
      min: z.number().finite(),
      max: z.number().finite(),
      /** An amount of money in this ISO 4217 currency (`GBP`): the bank's schema says what its amounts are in. */
      currency: z
        .string()
        .regex(/^[A-Z]{3}$/)
        .optional(),
    })
    .strict(),
  z
    .object({
      name: FeatureNameSchema,
      party: Party,
      kind: z.literal('category'),
      values: z.array(z.string().min(1).max(64)).min(1).max(64),
    })
    .strict(),
]);
export type FeatureDescriptor = z.infer<typeof FeatureDescriptor>;

/** The descriptor of a feature, as the current schema defines it. */
export function describeFeature(name: FeatureName): FeatureDescriptor {
  const spec: FeatureSpec = FEATURE_SPECS[name];
  switch (spec.kind) {
    case 'boolean':
      return { name, party: spec.party, kind: 'boolean' };
    case 'category':
      return { name, party: spec.party, kind: 'category', values: [...spec.values] };
    default:
      return { name, party: spec.party, kind: spec.kind, min: spec.min, max: spec.max };
  }
}

/** The locales a manifest carries form texts for. */
export const LOCALES = ['en', 'fr'] as const;
export type Locale = (typeof LOCALES)[number];

const Text = z.string().min(1).max(300);
const FieldText = z
  .object({
    /** The field's visible label. */
    label: Text,
    /** One sentence of help under the field. */
    help: Text,
  })
  .strict();
export type FieldText = z.infer<typeof FieldText>;
const optionTexts = <T extends readonly [string, ...string[]]>(values: T) => z.record(z.enum(values), Text);

/** The form's texts for one locale; every key is required, so a missing string fails to parse or compile. */
export const FeatureTextsSchema = z
  .object({
    /** Heading of each party's panel (demo mode shows all three). */
    parties: z.record(Party, Text),
    fields: z.record(FeatureNameSchema, FieldText),
    /** Display text of each categorical value, keyed by the value itself. */
    options: z
      .object({
        income_type: optionTexts(INCOME_TYPES),
        education_type: optionTexts(EDUCATION_TYPES),
        family_status: optionTexts(FAMILY_STATUSES),
        occupation_type: optionTexts(OCCUPATION_TYPES),
        housing_type: optionTexts(HOUSING_TYPES),
        years_employed: optionTexts(YEARS_EMPLOYED_BINS),
      })
      .strict(),
    /** Words for boolean fields. */
    yes: Text,
    no: Text,
    /** The two outcomes of the model. */
    outcomes: z.object({ approved: Text, denied: Text }).strict(),
  })
  .strict();
export type FeatureTexts = z.infer<typeof FeatureTextsSchema>;

/** The FHE parameter sets a model may name (2-bit message, 2-bit carry, KS-PBS, p_fail ≤ 2^-128). */
export const PARAMETER_SETS = {
  tuniform: 'PARAM_MESSAGE_2_CARRY_2_KS_PBS_TUNIFORM_2M128',
  gaussian: 'V1_1_PARAM_MESSAGE_2_CARRY_2_KS_PBS_GAUSSIAN_2M128',
} as const;
export type ParameterSetId = keyof typeof PARAMETER_SETS;

export const ParameterSet = z
  .object({
    id: z.enum(Object.keys(PARAMETER_SETS) as [ParameterSetId, ...ParameterSetId[]]),
    /** The `ShortintParametersName` to pass to tfhe / node-tfhe. */
    tfheName: z.string(),
    messageModulus: z.literal(4),
    carryModulus: z.literal(4),
  })
  .strict()
  .refine((p) => PARAMETER_SETS[p.id] === p.tfheName, 'tfheName does not match id');
export type ParameterSet = z.infer<typeof ParameterSet>;

/**
 * The explanation: for each candidate bin of one input (years employed), the run returns an
 * encrypted bit "approved with this bin, and the bin is at least the applicant's own".
 */
export const ExplanationSpec = z
  .object({
    input: z.string(),
    bins: z
      .array(z.object({ code: z.int().min(0).max(15), label: z.string().min(1).max(16) }).strict())
      .min(1)
      .max(16),
    /**
     * Inputs held at a code while the bins vary, whatever the applicant's own: `employed` = 1, so
     * a bit means "approved when employed for this long", true for employed and not-employed
     * applicants alike.
     */
    assume: z
      .array(z.object({ input: z.string(), code: z.int().min(0).max(15) }).strict())
      .max(4)
      .optional(),
  })
  .strict();
export type ExplanationSpec = z.infer<typeof ExplanationSpec>;

const ManifestBody = z
  .object({
    kind: z.literal(MANIFEST_KIND),
    formatVersion: z.literal(FORMAT_VERSION),
    name: z.string().min(1).max(200),
    parameterSet: ParameterSet,
    features: z.array(FeatureDescriptor).max(64),
    inputs: z.array(EncryptedInput).min(1).max(64),
    explanation: ExplanationSpec,
    /**
     * Inputs the bank chose to collect although the model does not read them (data minimisation:
     * every other input is read by the model; absent when there are none).
     */
    unreadInputs: z.array(z.string()).max(64).optional(),
    labels: z.record(z.enum(LOCALES), FeatureTextsSchema),
  })
  .strict();

/** The public manifest. */
export const Manifest = ManifestBody.extend({ modelVersion: ModelVersion }).strict();
export type Manifest = z.infer<typeof Manifest>;
export type ManifestBody = z.infer<typeof ManifestBody>;

// ---------------------------------------------------------------------------------------------
// Consistency checks beyond the schemas

/** Checks a parsed manifest against the feature schema; returns problems as text. */
export function manifestProblems(m: ManifestBody): string[] {
  const problems: string[] = [];
  const expected = FEATURE_NAMES.map(describeFeature);
  // An amount's currency is the bank's to state: the schema's shape is the rest.
  const shapes = m.features.map((f) => ('currency' in f ? { ...f, currency: undefined } : f));
  if (JSON.stringify(shapes) !== JSON.stringify(expected)) {
    problems.push('features do not match this version of the feature schema');
  }
  const names = new Set<string>();
  for (const input of m.inputs) {
    if (names.has(input.name)) problems.push(`input ${input.name} is listed twice`);
    names.add(input.name);
    problems.push(...inputProblems(input));
  }
  // Data minimisation: a feature the model does not read has no input, and nothing is asked for it.
  for (const name of m.unreadInputs ?? []) if (!names.has(name)) problems.push(`unread input ${name} is not an input`);

  const ex = m.explanation;
  const exInput = m.inputs.find((i) => i.name === ex.input);
  if (!exInput) {
    problems.push(`explanation input ${ex.input} is not an input`);
  } else {
    const levels = quantizerLevels(exInput.quantizer);
    ex.bins.forEach((bin, i) => {
      if (i > 0 && bin.code <= ex.bins[i - 1]!.code) problems.push('explanation bins must have increasing codes');
      if (bin.code >= levels) problems.push(`explanation bin ${bin.label} has code ${bin.code} ≥ ${levels} levels`);
      if (exInput.quantizer.kind === 'category') {
        try {
          if (quantizeValue(exInput.quantizer, bin.label) !== bin.code) {
            problems.push(`explanation bin ${bin.label} does not quantize to code ${bin.code}`);
          }
        } catch {
          problems.push(`explanation bin ${bin.label} is not a value of ${exInput.feature}`);
        }
      }
    });
  }
  for (const a of ex.assume ?? []) {
    const input = m.inputs.find((i) => i.name === a.input);
    if (!input) problems.push(`explanation assumes input ${a.input}, which is not an input`);
    else if (a.input === ex.input) problems.push('the explanation cannot assume its own input');
    else if (a.code >= quantizerLevels(input.quantizer)) problems.push(`explanation assumes ${a.input} = ${a.code}, beyond its levels`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Loading

/** A JSON text parsed, or an already parsed value passed through. @throws ModelError `invalid_json` */
export function parseJsonText(input: unknown, what: string): unknown {
  if (typeof input !== 'string') return input;
  try {
    return JSON.parse(input);
  } catch (e) {
    throw new ModelError('invalid_json', `${what} is not valid JSON: ${(e as Error).message}`);
  }
}

/**
 * Parses and checks a public manifest (JSON text or parsed value). Does not verify the version
 * hash, which needs the private tree; the widget and gateway use this.
 * @throws ModelError `invalid_json` | `invalid_manifest`.
 */
export function parseManifest(input: unknown): Manifest {
  const parsed = Manifest.safeParse(parseJsonText(input, 'manifest'));
  if (!parsed.success) {
    throw new ModelError('invalid_manifest', `manifest: ${formatIssues(parsed.error.issues)}`, {
      paths: parsed.error.issues.map((i) => i.path.join('.')),
    });
  }
  const problems = manifestProblems(parsed.data);
  if (problems.length > 0) throw new ModelError('invalid_manifest', `manifest: ${problems.join('; ')}`, { problems });
  return parsed.data;
}
