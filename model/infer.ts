/**
 * The cleartext reference model: the tree evaluated on quantized codes, and the explanation
 * with the seed application's meaning. The FHE circuit must reproduce these exactly.
 *
 * Browser-safe.
 */
import type { CreditFeatures } from './features.ts';
import type { ExplanationSpec, ManifestBody, TreeBody } from './manifest.ts';
import { quantizeParsed } from './quantize.ts';

/** Input name → quantized code. */
export type Codes = Readonly<Record<string, number>>;

/** Walks the tree: 1 = approve, 0 = deny. Splits go left when `code ≤ threshold`. */
export function predictCodes(tree: Pick<TreeBody, 'nodes'>, codes: Codes): 0 | 1 {
  let node = tree.nodes[0]!;
  for (;;) {
    if (node.type === 'leaf') return node.decision;
    const code = codes[node.input];
    if (code === undefined) throw new RangeError(`no code for input ${node.input}`);
    node = tree.nodes[code <= node.threshold ? node.left : node.right]!;
  }
}

/**
 * The decision and one bit per explanation bin: bit i is 1 when the tree approves with the
 * explanation input set to bin i, and bin i is at least the applicant's own bin. This is what
 * the encrypted run returns.
 */
export function explainCodes(
  tree: Pick<TreeBody, 'nodes'>,
  codes: Codes,
  explanation: ExplanationSpec,
): { decision: 0 | 1; bits: (0 | 1)[] } {
  const own = codes[explanation.input];
  if (own === undefined) throw new RangeError(`no code for input ${explanation.input}`);
  const bits = explanation.bins.map((bin) =>
    bin.code >= own && predictCodes(tree, { ...codes, [explanation.input]: bin.code }) === 1 ? 1 : 0,
  );
  return { decision: predictCodes(tree, codes), bits };
}

/** What the applicant is told. */
export type ExplanationOutcome =
  /** The decision is approve. */
  | { kind: 'approved' }
  /** Denied, but approved with employment in bin `label` (the smallest such bin). */
  | { kind: 'suggest'; label: string; code: number }
  /** Denied, and no longer employment span suffices. */
  | { kind: 'none' };

/**
 * Reads the decrypted result: the decision, else the smallest bin whose bit is 1, else none.
 * The widget calls this after decrypting; it needs no knowledge of the applicant's own bin.
 */
export function readExplanation(
  decision: number,
  bits: readonly number[],
  bins: readonly { readonly code: number; readonly label: string }[],
): ExplanationOutcome {
  if (decision === 1) return { kind: 'approved' };
  const i = bits.findIndex((b) => b === 1);
  if (i < 0) return { kind: 'none' };
  const bin = bins[i]!;
  return { kind: 'suggest', label: bin.label, code: bin.code };
}

/**
 * The seed application's explanation, one cleartext model run per bin, for cross-checking:
 * walk the years-employed bins from the applicant's own upwards, keeping every other answer
 * (including `employed`) unchanged; the first bin the model approves is the answer, and if it
 * is the applicant's own bin the applicant is simply approved.
 */
export function seedExplanation(
  manifest: Pick<ManifestBody, 'inputs'>,
  tree: Pick<TreeBody, 'nodes'>,
  features: CreditFeatures,
  binLabels: readonly CreditFeatures['years_employed'][],
): ExplanationOutcome {
  const start = binLabels.indexOf(features.years_employed);
  for (let i = start; i < binLabels.length; i++) {
    const label = binLabels[i]!;
    const codes = quantizeParsed(manifest.inputs, { ...features, years_employed: label });
    if (predictCodes(tree, codes) === 1) {
      if (i === start) return { kind: 'approved' };
      const input = manifest.inputs.find((x) => x.feature === 'years_employed')!;
      return { kind: 'suggest', label, code: codes[input.name]! };
    }
  }
  return { kind: 'none' };
}
