/**
 * The cleartext reference of a tree ensemble on quantized codes: each tree gives the integer
 * value of the leaf the codes reach, and the decision is `Σ values ≥ threshold`. The FHE circuit
 * (`evaluator/circuit/compile-ensemble.ts`) must reproduce this exactly, explanation included.
 *
 * Also the mapping of real-valued leaves to those integers ({@link quantizeLeafValues}).
 *
 * Browser-safe.
 */
import type { ExplanationSpec } from './manifest.ts';
import { type EnsembleBody, type EnsembleNode, MAX_LEAF_VALUE } from './private-model.ts';
import { explainWith, type Codes } from './infer.ts';

/** The value of the leaf the codes reach in one tree. */
export function treeValue(nodes: readonly EnsembleNode[], codes: Codes): number {
  let node = nodes[0]!;
  for (;;) {
    if (node.type === 'leaf') return node.value;
    const code = codes[node.input];
    if (code === undefined) throw new RangeError(`no code for input ${node.input}`);
    node = nodes[code <= node.threshold ? node.left : node.right]!;
  }
}

/** The integer score: Σ over trees of the reached leaf's value. */
export function ensembleScore(ensemble: Pick<EnsembleBody, 'trees'>, codes: Codes): number {
  return ensemble.trees.reduce((s, t) => s + treeValue(t.nodes, codes), 0);
}

/** 1 = approve (`Σ values ≥ threshold`), 0 = deny. */
export function predictEnsembleCodes(ensemble: Pick<EnsembleBody, 'trees' | 'threshold'>, codes: Codes): 0 | 1 {
  return ensembleScore(ensemble, codes) >= ensemble.threshold ? 1 : 0;
}

/** The decision and the explanation bits, with the meaning of `explainCodes` (infer.ts). */
export function explainEnsembleCodes(
  ensemble: Pick<EnsembleBody, 'trees' | 'threshold'>,
  codes: Codes,
  explanation: ExplanationSpec,
): { decision: 0 | 1; bits: (0 | 1)[] } {
  return explainWith((c) => predictEnsembleCodes(ensemble, c), codes, explanation);
}

/**
 * Real-valued leaves and cut-off → integers: every leaf `v` becomes `round(scale · v)` (never −0)
 * and the decision `Σ v + base ≥ cutoff` becomes `Σ round(scale · v) ≥ ⌈scale · (cutoff − base)⌉`.
 * The scale is the largest that keeps 9 trees in 10 within a leaf range of `maxRange` and every
 * tree within one more base-4 digit (the circuit adds each tree's value as its range's 2-bit
 * digits; boosting's first trees spread widest and may take the extra digit), and every value
 * within {@link MAX_LEAF_VALUE}: the finer the scale, the fewer applicants whose decision
 * rounding changes.
 */
export function quantizeLeafValues(
  trees: readonly (readonly number[])[],
  base: number,
  cutoff: number,
  maxRange: number,
): { scale: number; values: number[][]; threshold: number } {
  const spreads = trees.map((leaves) => Math.max(...leaves) - Math.min(...leaves)).sort((a, b) => a - b);
  const typical = Math.max(spreads[Math.min(spreads.length - 1, Math.floor(0.9 * spreads.length))]!, 1e-12);
  const widest = Math.max(spreads[spreads.length - 1]!, 1e-12);
  const largest = Math.max(...trees.flatMap((leaves) => leaves.map(Math.abs)), 1e-12);
  // round() can widen a range by one step: keep scale · spread ≤ range − 1.
  const scale = Math.min((maxRange - 1) / typical, (4 * (maxRange + 1) - 2) / widest, MAX_LEAF_VALUE / largest);
  const values = trees.map((leaves) => leaves.map((v) => Math.round(scale * v) + 0));
  const threshold = Math.ceil(scale * (cutoff - base) - 1e-9) + 0;
  return { scale, values, threshold };
}
