/**
 * The cleartext reference model: the tree evaluated on quantized codes, and the explanation
 * with the seed application's meaning. The FHE circuit must reproduce these exactly.
 *
 * Browser-safe.
 */
import type { CreditFeatures } from './features.ts';
import type { ExplanationSpec, ManifestBody } from './manifest.ts';
import type { TreeBody } from './private-model.ts';
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

/** The codes the explanation holds fixed (`explanation.assume`: employed = 1). */
export function assumedCodes(explanation: ExplanationSpec): Record<string, number> {
  return Object.fromEntries((explanation.assume ?? []).map((a) => [a.input, a.code]));
}

/**
 * The decision and one bit per explanation bin: bit i is 1 when the tree approves with the
 * explanation input set to bin i (and the assumed inputs at their codes: employed), and bin i
 * is at least the applicant's own bin. This is what the encrypted run returns.
 */
export function explainCodes(
  tree: Pick<TreeBody, 'nodes'>,
  codes: Codes,
  explanation: ExplanationSpec,
): { decision: 0 | 1; bits: (0 | 1)[] } {
  return explainWith((c) => predictCodes(tree, c), codes, explanation);
}

/** {@link explainCodes} for any cleartext decision function (a tree, an ensemble). */
export function explainWith(
  predict: (codes: Codes) => 0 | 1,
  codes: Codes,
  explanation: ExplanationSpec,
): { decision: 0 | 1; bits: (0 | 1)[] } {
  const own = codes[explanation.input];
  if (own === undefined) throw new RangeError(`no code for input ${explanation.input}`);
  const held = assumedCodes(explanation);
  const bits = explanation.bins.map((bin) =>
    bin.code >= own && predict({ ...codes, ...held, [explanation.input]: bin.code }) === 1 ? 1 : 0,
  );
  return { decision: predict(codes), bits };
}

/** What the applicant is told. */
export type ExplanationOutcome =
  /** The decision is approve. */
  | { kind: 'approved' }
  /**
   * Denied, but approved with employment in bin `label` (the smallest such bin) and every bin
   * after it up to `until` (the first longer bin that is denied again), or every longer bin
   * (`until` null): only then may the page say "at least".
   */
  | { kind: 'suggest'; label: string; code: number; until: { label: string; code: number } | null }
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
  const i = bits.indexOf(1);
  if (i < 0) return { kind: 'none' };
  const bin = bins[i]!;
  const end = bits.findIndex((b, j) => j > i && b !== 1);
  const until = end < 0 ? null : { label: bins[end]!.label, code: bins[end]!.code };
  return { kind: 'suggest', label: bin.label, code: bin.code, until };
}

/**
 * The seed application's explanation loop, one cleartext model run per bin, for cross-checking:
 * the decision first; if denied, walk the years-employed bins from the applicant's own upwards,
 * every other answer unchanged but the explanation's assumed ones (employed: the seed kept the
 * applicant's own, and so told someone not employed what "years of employment" would do); the
 * first bin the model approves is the suggestion, the first denied bin after it ends it.
 */
export function seedExplanation(
  manifest: Pick<ManifestBody, 'inputs' | 'explanation'>,
  tree: Pick<TreeBody, 'nodes'>,
  features: CreditFeatures,
  binLabels: readonly CreditFeatures['years_employed'][],
): ExplanationOutcome {
  const exInput = manifest.inputs.find((x) => x.name === manifest.explanation.input)!;
  if (predictCodes(tree, quantizeParsed(manifest.inputs, features)) === 1) return { kind: 'approved' };
  const held = assumedCodes(manifest.explanation);
  const approvedAt = (label: CreditFeatures['years_employed']) => {
    const codes = { ...quantizeParsed(manifest.inputs, { ...features, years_employed: label }), ...held };
    return predictCodes(tree, codes) === 1;
  };
  const candidates = new Set(manifest.explanation.bins.map((b) => b.label));
  const start = binLabels.indexOf(features.years_employed);
  for (let i = start; i < binLabels.length; i++) {
    const label = binLabels[i]!;
    if (!candidates.has(label) || !approvedAt(label)) continue;
    let end = i + 1;
    while (end < binLabels.length && approvedAt(binLabels[end]!)) end++;
    const code = (l: string) =>
      quantizeParsed([exInput], { ...features, years_employed: l as CreditFeatures['years_employed'] })[exInput.name]!;
    const until = end < binLabels.length ? { label: binLabels[end]!, code: code(binLabels[end]!) } : null;
    return { kind: 'suggest', label, code: code(label), until };
  }
  return { kind: 'none' };
}
