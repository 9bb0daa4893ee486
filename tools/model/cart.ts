/**
 * CART (Breiman et al., 1984) for a binary target on quantized features: Gini impurity, weighted
 * classes, depth and leaf-size limits. Features are small integer codes (≤ 16 levels), so each
 * node scans a class histogram per feature instead of sorting rows.
 *
 * After growing, sibling leaves with the same decision are merged (repeatedly), which changes no
 * prediction but removes nodes, and so bootstraps, from the encrypted circuit.
 *
 * Monotone constraints, as XGBoost's `monotone_constraints` enforce them (bounds propagation;
 * Chen & Guestrin 2016, and the gradient-boosting literature on shape constraints): every node
 * carries bounds [lo, hi] on the approval value of the leaves below it. A constrained split must
 * not give its left child (lower codes) a higher value than its right child, else it is refused;
 * an accepted one passes [lo, mid] to the left and [mid, hi] to the right, mid between the two
 * children's values. Leaves take their weighted approval share clamped to their bounds, and
 * approve above 1/2. Any two applicants who differ only in a constrained feature part at the
 * first split that separates them, and every leaf on the higher side has a value at least every
 * leaf's on the lower side: the decision can only rise with the feature. A constraint may start
 * at a threshold (`increasingFrom`): splits below it are free, which is how "no one aged 62 or
 * over is treated worse than at 61" is written (splits separating 61 from 62+ are constrained,
 * splits among younger ages are not).
 *
 * A floor (`floor`) puts a forced split at the root: codes below it are denied outright (a
 * bank's policy, e.g. a minimum income), the tree is grown on the rest.
 *
 * Deterministic: ties go to the earlier feature, then to the lower threshold.
 *
 * Browser-safe.
 */
import { ModelError } from '../../model/errors.ts';
import type { TreeNode } from '../../model/private-model.ts';

export interface CartOptions {
  /** Maximum depth (root = depth 0). The circuit's noise budget favours ≤ 5. */
  maxDepth: number;
  /** Minimum number of training rows in each leaf. */
  minSamplesLeaf: number;
  /** Weight of each denied / approved row. */
  classWeights: { denied: number; approved: number };
  /** A split must lower the weighted Gini impurity by more than this (default 0). */
  minImpurityDecrease?: number;
  /**
   * Per feature: the smallest split threshold from which approval must not decrease as the code
   * rises (0: monotone over all codes); `undefined` or absent: unconstrained.
   */
  increasingFrom?: readonly (number | undefined)[];
  /** Codes of `feature` below `below` are denied whatever the rest (a forced root split). */
  floor?: { feature: number; below: number };
}

export interface CartData {
  /** codes[f][row]: the code of feature f for a row. */
  codes: readonly Uint8Array[];
  /** Levels of each feature (codes are 0..levels−1). */
  levels: readonly number[];
  /** Labels, 1 = approve. */
  labels: Uint8Array;
}

/** A tree under construction: `feature` indexes the names given to {@link flatten}. */
export type Grown =
  | { type: 'leaf'; decision: 0 | 1; samples: number }
  | { type: 'split'; feature: number; threshold: number; left: Grown; right: Grown };

const gini = (w0: number, w1: number) => {
  const w = w0 + w1;
  return w === 0 ? 0 : 1 - (w0 / w) ** 2 - (w1 / w) ** 2;
};

/** Approval value bounds of a subtree (see the module comment). */
interface Bounds {
  lo: number;
  hi: number;
}

const clamp = (v: number, b: Bounds) => Math.min(b.hi, Math.max(b.lo, v));
/** The weighted approval share of a node, clamped to its bounds (an empty side counts as 1/2). */
const value = (w0: number, w1: number, b: Bounds) => clamp(w0 + w1 === 0 ? 0.5 : w1 / (w0 + w1), b);

function grow(data: CartData, rows: Uint32Array, depth: number, o: CartOptions, bounds: Bounds): Grown {
  const { codes, levels, labels } = data;
  const wd = o.classWeights.denied;
  const wa = o.classWeights.approved;
  let w0 = 0;
  let w1 = 0;
  for (const r of rows) labels[r] === 1 ? (w1 += wa) : (w0 += wd);
  const leaf: Grown = { type: 'leaf', decision: value(w0, w1, bounds) > 0.5 ? 1 : 0, samples: rows.length };
  if (depth >= o.maxDepth || rows.length < 2 * o.minSamplesLeaf || w0 === 0 || w1 === 0) return leaf;

  const parent = (w0 + w1) * gini(w0, w1);
  let best = { gain: o.minImpurityDecrease ?? 0, feature: -1, threshold: -1, mid: -1 };
  for (let f = 0; f < codes.length; f++) {
    const from = o.increasingFrom?.[f];
    const lv = levels[f]!;
    const n = new Uint32Array(lv);
    const h0 = new Float64Array(lv);
    const h1 = new Float64Array(lv);
    const col = codes[f]!;
    for (const r of rows) {
      const c = col[r]!;
      n[c]!++;
      labels[r] === 1 ? (h1[c]! += wa) : (h0[c]! += wd);
    }
    let nl = 0;
    let l0 = 0;
    let l1 = 0;
    for (let t = 0; t < lv - 1; t++) {
      nl += n[t]!;
      l0 += h0[t]!;
      l1 += h1[t]!;
      const nr = rows.length - nl;
      if (nl < o.minSamplesLeaf || nr < o.minSamplesLeaf) continue;
      const r0 = w0 - l0;
      const r1 = w1 - l1;
      let mid = -1;
      if (from !== undefined && t >= from) {
        // A constrained split that would approve the lower codes more is refused.
        const vl = value(l0, l1, bounds);
        const vr = value(r0, r1, bounds);
        if (vl > vr) continue;
        mid = (vl + vr) / 2;
      }
      const gain = parent - (l0 + l1) * gini(l0, l1) - (r0 + r1) * gini(r0, r1);
      // A relative epsilon keeps float noise from deciding ties between equal splits.
      if (gain > best.gain + 1e-12 * (w0 + w1)) best = { gain, feature: f, threshold: t, mid };
    }
  }
  if (best.feature < 0) return leaf;
  const col = codes[best.feature]!;
  const left: number[] = [];
  const right: number[] = [];
  for (const r of rows) (col[r]! <= best.threshold ? left : right).push(r);
  const constrained = best.mid >= 0;
  return {
    type: 'split',
    feature: best.feature,
    threshold: best.threshold,
    left: grow(data, Uint32Array.from(left), depth + 1, o, constrained ? { lo: bounds.lo, hi: best.mid } : bounds),
    right: grow(data, Uint32Array.from(right), depth + 1, o, constrained ? { lo: best.mid, hi: bounds.hi } : bounds),
  };
}

/** Merges splits whose two children are leaves with the same decision, bottom-up. */
export function collapse(t: Grown): Grown {
  if (t.type === 'leaf') return t;
  const left = collapse(t.left);
  const right = collapse(t.right);
  if (left.type === 'leaf' && right.type === 'leaf' && left.decision === right.decision) {
    return { type: 'leaf', decision: left.decision, samples: left.samples + right.samples };
  }
  return { ...t, left, right };
}

/** Flattens in pre-order: node 0 is the root, children after their parent. */
export function flatten(t: Grown, names: readonly string[]): TreeNode[] {
  const out: TreeNode[] = [];
  const visit = (g: Grown): number => {
    const i = out.length;
    if (g.type === 'leaf') {
      out.push({ type: 'leaf', decision: g.decision, samples: g.samples });
      return i;
    }
    out.push({ type: 'split', input: names[g.feature]!, threshold: g.threshold, left: 0, right: 0 });
    const left = visit(g.left);
    const right = visit(g.right);
    out[i] = { type: 'split', input: names[g.feature]!, threshold: g.threshold, left, right };
    return i;
  };
  visit(t);
  return out;
}

/**
 * Trains a tree.
 * @param names input name of each feature column
 * @returns the flat node list of a `TreeFile`
 * @throws ModelError `invalid_training` for empty data or bad options.
 */
export function trainCart(data: CartData, names: readonly string[], options: CartOptions): TreeNode[] {
  const rows = data.labels.length;
  if (rows === 0) throw new ModelError('invalid_training', 'no training rows');
  if (!Number.isInteger(options.maxDepth) || options.maxDepth < 0) {
    throw new ModelError('invalid_training', `maxDepth must be a non-negative integer, got ${options.maxDepth}`);
  }
  if (!Number.isInteger(options.minSamplesLeaf) || options.minSamplesLeaf < 1) {
    throw new ModelError('invalid_training', `minSamplesLeaf must be a positive integer, got ${options.minSamplesLeaf}`);
  }
  const { denied, approved } = options.classWeights;
  if (!(denied > 0 && approved > 0 && Number.isFinite(denied) && Number.isFinite(approved))) {
    throw new ModelError('invalid_training', 'class weights must be positive and finite');
  }
  if (data.codes.length !== names.length || data.codes.some((c) => c.length !== rows)) {
    throw new ModelError('invalid_training', 'one code column of one code per row is required for each feature');
  }
  const constraints = options.increasingFrom ?? [];
  if (constraints.length > names.length || constraints.some((c) => c !== undefined && !(Number.isInteger(c) && c >= 0))) {
    throw new ModelError('invalid_training', 'increasingFrom must give a non-negative integer threshold (or nothing) per feature');
  }
  const all = Uint32Array.from({ length: rows }, (_, i) => i);
  const free = { lo: 0, hi: 1 };
  const floor = options.floor;
  if (floor === undefined || floor.below <= 0) return flatten(collapse(grow(data, all, 0, options, free)), names);
  if (!(floor.feature >= 0 && floor.feature < names.length && Number.isInteger(floor.below) && floor.below < data.levels[floor.feature]!)) {
    throw new ModelError('invalid_training', 'floor must name a feature and a code inside its levels');
  }
  const col = data.codes[floor.feature]!;
  const below = all.filter((r) => col[r]! < floor.below);
  const above = all.filter((r) => col[r]! >= floor.below);
  // Denial below the floor is policy, not learned: the tree is grown on the applicants above it.
  const tree: Grown = {
    type: 'split',
    feature: floor.feature,
    threshold: floor.below - 1,
    left: { type: 'leaf', decision: 0, samples: below.length },
    right: above.length === 0 ? { type: 'leaf', decision: 0, samples: 0 } : grow(data, above, 1, options, free),
  };
  return flatten(collapse(tree), names);
}
