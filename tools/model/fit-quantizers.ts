/**
 * Fits one encrypted input per feature from training data, each at most 4 bits:
 * - booleans: 1 bit;
 * - numbers: up to 16 levels, cut at the training data's quantiles (every distinct value gets its
 *   own level when there are at most 16), so each level holds a similar share of applicants;
 * - categories: codes ordered by the training approval rate of each value. For a binary target
 *   CART's best split of a categorical feature is a threshold in that order (Breiman et al.,
 *   Classification and Regression Trees, 1984, §9.4), so the tree's `code ≤ t` splits lose
 *   nothing. Occupations are first grouped into labour / office / high-tech work (24 values do
 *   not fit in 4 bits);
 * - the explanation input (years employed) keeps its natural bin order, because the explanation
 *   compares bins.
 *
 * Browser-safe.
 */
import {
  FEATURE_NAMES,
  FEATURE_SPECS,
  OCCUPATION_GROUP,
  YEARS_EMPLOYED_BINS,
  type CreditFeatures,
  type FeatureName,
  type OccupationType,
} from '../../model/features.ts';
import { ModelError } from '../../model/errors.ts';
import type { LabeledApplication } from './synthetic.ts';
import { MAX_CODE, bitsForLevels, digitsForBits, quantizerLevels, type EncryptedInput, type Quantizer } from '../../model/quantize.ts';

/** The feature whose bins the explanation walks, and the input that encodes it. */
export const EXPLANATION_FEATURE = 'years_employed' satisfies FeatureName;

/** Rounds a cut to 3 significant digits, so manifests stay readable and stable. */
function niceCut(v: number): number {
  if (v === 0) return 0;
  const magnitude = 10 ** (Math.floor(Math.log10(Math.abs(v))) - 2);
  return Math.round(v / magnitude) * magnitude;
}

/**
 * Cut points for a numeric feature: at most `MAX_CODE` strictly increasing cuts, including every
 * `required` one (a policy boundary: the income floor, the protected age).
 */
export function numericCuts(values: readonly number[], integer: boolean, required: readonly number[] = []): number[] {
  const sorted = [...values].sort((a, b) => a - b);
  const distinct = [...new Set(sorted)];
  const merge = (cuts: readonly number[]) => [...new Set([...cuts, ...required])].sort((a, b) => a - b);
  if (distinct.length + required.length <= MAX_CODE + 1) return merge(distinct.slice(1));
  const quantiles = MAX_CODE - required.length;
  const cuts: number[] = [];
  for (let k = 1; k <= quantiles; k++) {
    const q = sorted[Math.floor((k * sorted.length) / (quantiles + 1))]!;
    const cut = integer ? Math.round(q) : niceCut(q);
    if (cut > sorted[0]! && (cuts.length === 0 || cut > cuts[cuts.length - 1]!)) cuts.push(cut);
  }
  return merge(cuts);
}

/** Codes 0..k−1 for keys, in ascending order of approval rate (ties keep the given order). */
function codesByRate(keys: readonly string[], rate: (key: string) => number): Map<string, number> {
  const order = keys.map((key, i) => ({ key, i, r: rate(key) })).sort((a, b) => a.r - b.r || a.i - b.i);
  return new Map(order.map((o, code) => [o.key, code]));
}

function approvalRates(rows: readonly LabeledApplication[], keyOf: (f: CreditFeatures) => string) {
  const counts = new Map<string, { n: number; approved: number }>();
  for (const r of rows) {
    const k = keyOf(r.features);
    const c = counts.get(k) ?? { n: 0, approved: 0 };
    c.n++;
    c.approved += r.approved;
    counts.set(k, c);
  }
  const overall = rows.reduce((s, r) => s + r.approved, 0) / rows.length;
  // Values never seen in training get the overall rate: a neutral place in the order.
  return (key: string) => {
    const c = counts.get(key);
    return c === undefined ? overall : c.approved / c.n;
  };
}

function quantizerFor(name: FeatureName, rows: readonly LabeledApplication[], required: readonly number[]): Quantizer {
  const spec = FEATURE_SPECS[name];
  switch (spec.kind) {
    case 'boolean':
      return { kind: 'boolean' };
    case 'integer':
    case 'number':
      return {
        kind: 'thresholds',
        cuts: numericCuts(
          rows.map((r) => r.features[name] as number),
          spec.kind === 'integer',
          required,
        ),
      };
    case 'category': {
      if (name === EXPLANATION_FEATURE) {
        return { kind: 'category', codes: Object.fromEntries(YEARS_EMPLOYED_BINS.map((b, i) => [b, i])) };
      }
      if (name === 'occupation_type') {
        const groups = [...new Set(Object.values(OCCUPATION_GROUP))];
        const groupCode = codesByRate(
          groups,
          approvalRates(rows, (f) => OCCUPATION_GROUP[f.occupation_type]),
        );
        return {
          kind: 'category',
          codes: Object.fromEntries(spec.values.map((o) => [o, groupCode.get(OCCUPATION_GROUP[o as OccupationType])!])),
        };
      }
      const codes = codesByRate(
        spec.values,
        approvalRates(rows, (f) => String(f[name])),
      );
      return { kind: 'category', codes: Object.fromEntries(spec.values.map((v) => [v, codes.get(v)!])) };
    }
  }
}

/**
 * One encrypted input per feature, named after it, with quantizers fitted on `rows`.
 * @param requiredCuts cut points a numeric feature must have (policy boundaries)
 * @throws ModelError `invalid_training` on an empty data set.
 */
export function fitInputs(
  rows: readonly LabeledApplication[],
  requiredCuts: Partial<Record<FeatureName, readonly number[]>> = {},
): EncryptedInput[] {
  if (rows.length === 0) throw new ModelError('invalid_training', 'cannot fit quantizers on an empty data set');
  return FEATURE_NAMES.map((name) => {
    const quantizer = quantizerFor(name, rows, requiredCuts[name] ?? []);
    const bits = bitsForLevels(quantizerLevels(quantizer));
    return { name, feature: name, party: FEATURE_SPECS[name].party, bits, digits: digitsForBits(bits), quantizer };
  });
}
