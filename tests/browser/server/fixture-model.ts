/**
 * A small, valid model for the browser suites: every feature of the schema with a quantizer, the
 * 2_2 TUniform parameter set, years-employed explanation bins, the real en/fr labels, and a
 * one-split tree. Sealed with the model's own `sealModel`, so its manifest passes
 * `parseManifest` exactly as a trained one does.
 */
import {
  EDUCATION_TYPES,
  FAMILY_STATUSES,
  FEATURE_NAMES,
  FEATURE_TEXTS,
  HOUSING_TYPES,
  INCOME_TYPES,
  OCCUPATION_GROUP,
  OCCUPATION_GROUPS,
  YEARS_EMPLOYED_BINS,
  type FeatureName,
} from '../../../model/features.ts';
import {
  FORMAT_VERSION,
  MANIFEST_KIND,
  PARAMETER_SETS,
  TREE_KIND,
  describeFeature,
  sealModel,
  type ManifestBody,
  type Model,
  type TreeBody,
} from '../../../model/manifest.ts';
import { bitsForLevels, digitsForBits, quantizerLevels, type EncryptedInput, type Quantizer } from '../../../model/quantize.ts';

const codesOf = (values: readonly string[]) => Object.fromEntries(values.map((v, i) => [v, i]));

const QUANTIZERS: Record<FeatureName, Quantizer> = {
  own_car: { kind: 'boolean' },
  own_property: { kind: 'boolean' },
  mobile_phone: { kind: 'boolean' },
  num_children: { kind: 'thresholds', cuts: [1, 2, 3] },
  household_size: { kind: 'thresholds', cuts: [2, 3, 4, 5] },
  total_income: { kind: 'thresholds', cuts: [15_000, 25_000, 40_000, 60_000] },
  age: { kind: 'thresholds', cuts: [25, 35, 50, 65] },
  income_type: { kind: 'category', codes: codesOf(INCOME_TYPES) },
  education_type: { kind: 'category', codes: codesOf(EDUCATION_TYPES) },
  family_status: { kind: 'category', codes: codesOf(FAMILY_STATUSES) },
  occupation_type: {
    kind: 'category',
    codes: Object.fromEntries(Object.entries(OCCUPATION_GROUP).map(([o, g]) => [o, OCCUPATION_GROUPS.indexOf(g)])),
  },
  housing_type: { kind: 'category', codes: codesOf(HOUSING_TYPES) },
  account_age: { kind: 'thresholds', cuts: [6, 12, 24, 48] },
  years_employed: { kind: 'category', codes: codesOf(YEARS_EMPLOYED_BINS) },
  employed: { kind: 'boolean' },
};

function input(feature: FeatureName): EncryptedInput {
  const quantizer = QUANTIZERS[feature];
  const bits = bitsForLevels(quantizerLevels(quantizer));
  return { name: feature, feature, party: describeFeature(feature).party, bits, digits: digitsForBits(bits), quantizer };
}

export async function fixtureModel(): Promise<Model> {
  const manifest: ManifestBody = {
    kind: MANIFEST_KIND,
    formatVersion: FORMAT_VERSION,
    name: 'Browser-suite fixture',
    parameterSet: { id: 'tuniform', tfheName: PARAMETER_SETS.tuniform, messageModulus: 4, carryModulus: 4 },
    features: FEATURE_NAMES.map(describeFeature),
    inputs: FEATURE_NAMES.map(input),
    explanation: {
      input: 'years_employed',
      bins: YEARS_EMPLOYED_BINS.map((label, code) => ({ code, label })),
    },
    labels: { en: FEATURE_TEXTS.en, fr: FEATURE_TEXTS.fr },
    training: {
      source: 'synthetic',
      seed: 1,
      rows: 100,
      heldOutRows: 20,
      options: { maxDepth: 1, minSamplesLeaf: 1, classWeights: { denied: 1, approved: 1 } },
      metrics: { accuracy: 0.5, precision: 0.5, recall: 0.5, approvalRate: 0.5 },
    },
  };
  const tree: TreeBody = {
    kind: TREE_KIND,
    formatVersion: FORMAT_VERSION,
    nodes: [
      { type: 'split', input: 'own_car', threshold: 0, left: 1, right: 2 },
      { type: 'leaf', decision: 0, samples: 50 },
      { type: 'leaf', decision: 1, samples: 50 },
    ],
  };
  return sealModel(manifest, tree);
}
