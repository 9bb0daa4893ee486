/**
 * A small gradient-boosting trainer (logistic loss, second-order steps as in XGBoost: Chen &
 * Guestrin 2016) on quantized codes, so the repository can train, ship and test a tree ensemble
 * without Python; and the ONNX writer that exports it the way XGBoost, LightGBM and
 * scikit-learn converters write their models (the import's test fixtures).
 *
 * Each tree fits the gradient g = p − y and hessian h = p(1 − p) of the current margins: a split's
 * gain is G_L²/(H_L+λ) + G_R²/(H_R+λ) − G²/(H+λ), a leaf's weight −G/(H+λ) times the learning
 * rate. Monotone constraints as XGBoost's: every node carries bounds on its leaf weights; a
 * constrained split whose lower-code side would weigh more is refused, an accepted one splits
 * the bounds at the midpoint of its children's weights, so each tree — and their sum — never
 * decreases along an increasing feature. The protected-age rule is the same constraint from the
 * threshold of the age before it on (`increasingFrom`, as `cart.ts`).
 *
 * Trees read the numeric features, the booleans and years employed (categories other than the
 * years bins would need set splits in ONNX). A policy income floor is a single-tree rule (a
 * forced deny leaf) and is not applied here.
 *
 * Deterministic. Browser-safe (no I/O).
 */
import { DEFAULT_POLICY, type ModelPolicy } from './constraints.ts';
import { ModelError } from '../../model/errors.ts';
import { quantizeLeafValues } from '../../model/ensemble.ts';
import { nextDown } from './float.ts';
import { FEATURE_NAMES, FEATURE_SPECS, type FeatureName } from '../../model/features.ts';
import { EXPLANATION_FEATURE, fitInputs } from './fit-quantizers.ts';
import { onnxColumnValue } from './import-onnx.ts';
import { sealEnsemble, type BoostedInfo, type EnsembleModel, type EnsembleNode, type TreeNode } from '../../model/private-model.ts';
import { writeOnnxEnsemble, type NodeMode, type OnnxEnsembleSpec } from './onnx.ts';
import { quantizeParsed, quantizeValue, quantizerLevels, type EncryptedInput } from '../../model/quantize.ts';
import { createRng } from './random.ts';
import type { LabeledApplication } from './synthetic.ts';
import {
  DEFAULT_MODEL_NAME,
  approvalRate,
  ensembleBody,
  manifestBody,
  rocAuc,
  scorePredictions,
  splitRows,
  type Metrics,
} from './train.ts';

export interface BoostOptions {
  trees?: number;
  maxDepth?: number;
  learningRate?: number;
  minSamplesLeaf?: number;
  /** L2 regularisation of leaf weights (λ). */
  lambda?: number;
  heldOutFraction?: number;
  policy?: ModelPolicy;
  name?: string;
  salt?: string;
  seed?: number | null;
  /** Largest leaf-value range of one tree after scaling to integers (default 63). */
  leafRange?: number;
}

/** A trained tree with real leaf weights (margins), over input names. */
export type BoostedTree =
  | { type: 'leaf'; weight: number }
  | { type: 'split'; input: string; threshold: number; left: BoostedTree; right: BoostedTree };

export interface BoostedEnsemble {
  /** Every feature's fitted input, in `FEATURE_NAMES` order (the manifest keeps those read). */
  inputs: EncryptedInput[];
  base: number;
  trees: BoostedTree[];
}

/** Features the booster may split on. */
const BOOSTED_FEATURES = FEATURE_NAMES.filter((f) => FEATURE_SPECS[f].kind !== 'category' || f === EXPLANATION_FEATURE);

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** Margin (log-odds) of an applicant's codes. */
export function boostedMargin(e: Pick<BoostedEnsemble, 'base' | 'trees'>, codes: Readonly<Record<string, number>>): number {
  let s = e.base;
  for (let t of e.trees) {
    while (t.type === 'split') t = codes[t.input]! <= t.threshold ? t.left : t.right;
    s += t.weight;
  }
  return s;
}

interface Bounds {
  lo: number;
  hi: number;
}

/** Fits the boosted trees on training rows (no sealing). */
export function boostTrees(rows: readonly LabeledApplication[], options: BoostOptions = {}): BoostedEnsemble {
  const nTrees = options.trees ?? 20;
  const maxDepth = options.maxDepth ?? 4;
  const lr = options.learningRate ?? 0.3;
  const minLeaf = options.minSamplesLeaf ?? 20;
  const lambda = options.lambda ?? 1;
  const policy = options.policy ?? DEFAULT_POLICY;
  if (rows.length < 2 * minLeaf) throw new ModelError('invalid_training', `${rows.length} rows are too few for minSamplesLeaf ${minLeaf}`);
  const positives = rows.reduce((s, r) => s + r.approved, 0);
  if (positives === 0 || positives === rows.length) throw new ModelError('invalid_training', 'the training rows hold a single class');
  const inputs = fitInputs(rows, policy.protectedAge !== null ? { age: [policy.protectedAge] } : {});
  const used = inputs.filter((i) => BOOSTED_FEATURES.includes(i.feature));
  const codeRows = rows.map((r) => quantizeParsed(used, r.features));
  const codes = used.map((input) => Uint8Array.from(codeRows, (c) => c[input.name]!));
  const levels = used.map((i) => quantizerLevels(i.quantizer));
  const ageInput = used.find((i) => i.feature === 'age');
  const increasingFrom = used.map((input) =>
    policy.increasing.includes(input.feature)
      ? 0
      : input === ageInput && policy.protectedAge !== null
        ? quantizeValue(input.quantizer, policy.protectedAge - 1)
        : undefined,
  );
  const y = Uint8Array.from(rows, (r) => r.approved);
  const base = Math.log(positives / (rows.length - positives));
  const margin = new Float64Array(rows.length).fill(base);
  const g = new Float64Array(rows.length);
  const h = new Float64Array(rows.length);
  const trees: BoostedTree[] = [];
  const weightOf = (G: number, H: number, b: Bounds) => Math.min(b.hi, Math.max(b.lo, (-G / (H + lambda)) * lr));

  const grow = (idx: Uint32Array, depth: number, bounds: Bounds): BoostedTree => {
    let G = 0;
    let H = 0;
    for (const r of idx) {
      G += g[r]!;
      H += h[r]!;
    }
    const leaf: BoostedTree = { type: 'leaf', weight: weightOf(G, H, bounds) };
    if (depth >= maxDepth || idx.length < 2 * minLeaf) return leaf;
    const parent = (G * G) / (H + lambda);
    let best = { gain: 1e-9, f: -1, t: -1, mid: Number.NaN };
    for (let f = 0; f < used.length; f++) {
      const lv = levels[f]!;
      const n = new Uint32Array(lv);
      const hg = new Float64Array(lv);
      const hh = new Float64Array(lv);
      const col = codes[f]!;
      for (const r of idx) {
        const c = col[r]!;
        n[c]!++;
        hg[c]! += g[r]!;
        hh[c]! += h[r]!;
      }
      let nl = 0;
      let gl = 0;
      let hl = 0;
      const from = increasingFrom[f];
      for (let t = 0; t < lv - 1; t++) {
        nl += n[t]!;
        gl += hg[t]!;
        hl += hh[t]!;
        if (nl < minLeaf || idx.length - nl < minLeaf) continue;
        const gr = G - gl;
        const hr = H - hl;
        let mid = Number.NaN;
        if (from !== undefined && t >= from) {
          const wl = weightOf(gl, hl, bounds);
          const wr = weightOf(gr, hr, bounds);
          if (wl > wr) continue; // the lower codes would score higher
          mid = (wl + wr) / 2;
        }
        const gain = (gl * gl) / (hl + lambda) + (gr * gr) / (hr + lambda) - parent;
        if (gain > best.gain + 1e-12) best = { gain, f, t, mid };
      }
    }
    if (best.f < 0) return leaf;
    const col = codes[best.f]!;
    const left = idx.filter((r) => col[r]! <= best.t);
    const right = idx.filter((r) => col[r]! > best.t);
    const constrained = !Number.isNaN(best.mid);
    return {
      type: 'split',
      input: used[best.f]!.name,
      threshold: best.t,
      left: grow(left, depth + 1, constrained ? { lo: bounds.lo, hi: best.mid } : bounds),
      right: grow(right, depth + 1, constrained ? { lo: best.mid, hi: bounds.hi } : bounds),
    };
  };

  const all = Uint32Array.from({ length: rows.length }, (_, i) => i);
  for (let m = 0; m < nTrees; m++) {
    for (let i = 0; i < rows.length; i++) {
      const p = sigmoid(margin[i]!);
      g[i] = p - y[i]!;
      h[i] = p * (1 - p);
    }
    const tree = grow(all, 0, { lo: -Infinity, hi: Infinity });
    trees.push(tree);
    for (let i = 0; i < rows.length; i++) {
      let t = tree;
      while (t.type === 'split') t = codeRows[i]![t.input]! <= t.threshold ? t.left : t.right;
      margin[i]! += t.weight;
    }
  }
  return { inputs, base, trees };
}

/**
 * Trains and seals an ensemble: decision `probability ≥ 0.5`, leaves scaled to integers.
 * @throws ModelError `invalid_training`.
 */
export async function trainBoostedModel(
  rows: readonly LabeledApplication[],
  options: BoostOptions = {},
): Promise<{ model: EnsembleModel; boosted: BoostedEnsemble; metrics: Metrics }> {
  const { train, heldOut } = splitRows(rows, options.heldOutFraction ?? 0.2, 1);
  const boosted = boostTrees(train, options);
  const leaves = (t: BoostedTree): number[] => (t.type === 'leaf' ? [t.weight] : [...leaves(t.left), ...leaves(t.right)]);
  const { scale, threshold } = quantizeLeafValues(boosted.trees.map(leaves), boosted.base, 0, options.leafRange ?? 63);
  const toNodes = (t: BoostedTree): EnsembleNode[] => {
    const out: EnsembleNode[] = [];
    const visit = (n: BoostedTree): number => {
      const i = out.length;
      out.push({ type: 'leaf', value: n.type === 'leaf' ? Math.round(scale * n.weight) + 0 : 0 });
      if (n.type === 'split')
        out[i] = { type: 'split', input: n.input, threshold: n.threshold, left: visit(n.left), right: visit(n.right) };
      return i;
    };
    visit(t);
    return out;
  };
  const trees = boosted.trees.map((t) => ({ nodes: toNodes(t) }));
  const splits = trees.flatMap((t) => t.nodes.filter((n): n is TreeNode & { type: 'split' } => n.type === 'split'));
  const manifest = manifestBody((options.name ?? DEFAULT_MODEL_NAME).slice(0, 200), boosted.inputs, splits);
  const evalRows = heldOut.length > 0 ? heldOut : train;
  const margins = evalRows.map((r) => boostedMargin(boosted, quantizeParsed(boosted.inputs, r.features)));
  const labels = evalRows.map((r) => r.approved);
  const metrics: Metrics = {
    ...scorePredictions(
      labels,
      margins.map((m) => (m >= 0 ? 1 : 0)),
    ),
    auc: Math.round(10_000 * rocAuc(labels, margins)) / 10_000,
    approvalRate: approvalRate(rows),
  };
  const policy = options.policy ?? DEFAULT_POLICY;
  const training: BoostedInfo = {
    source: 'boosted',
    seed: options.seed ?? null,
    rows: rows.length,
    heldOutRows: heldOut.length,
    options: {
      trees: options.trees ?? 20,
      maxDepth: options.maxDepth ?? 4,
      learningRate: options.learningRate ?? 0.3,
      minSamplesLeaf: options.minSamplesLeaf ?? 20,
    },
    metrics,
    policy: { increasing: [...policy.increasing], protectedAge: policy.protectedAge, incomeFloor: null },
  };
  const model = await sealEnsemble(manifest, ensembleBody(trees, threshold, scale, training, options.salt));
  return { model, boosted, metrics };
}

// ---------------------------------------------------------------------------------------------
// ONNX export

/**
 * How a converter writes a binary booster (all `TreeEnsembleClassifier`, float input):
 * - `xgboost`: `BRANCH_LT`, base margin in `base_values`, LOGISTIC (onnxmltools);
 * - `lightgbm`: `BRANCH_LEQ`, base margin folded into the first tree's leaves, LOGISTIC;
 * - `sklearn`: `BRANCH_LEQ`, base in `base_values`, LOGISTIC, a double input with thresholds
 *   as doubles (`*_as_tensor`, opset 3, sklearn-onnx with a DoubleTensorType), node ids
 *   numbered from 1 per tree in reverse order;
 * - `mixed`: every node in a random one of the six modes (branches swapped to keep the meaning);
 * - `regressor`: `TreeEnsembleRegressor`, BRANCH_GTE, base in `base_values`, output the margin
 *   (import with `--threshold 0`);
 * - `forest`: scikit-learn forests' shape (sklearn-onnx): weights for both class ids, each leaf's
 *   class probabilities divided by the tree count, post_transform NONE, so the output is the
 *   average of the trees' probabilities. The leaves' probabilities here are `σ(4 · weight)`: a
 *   different model from the booster's, with the forest's conventions.
 */
export type OnnxConvention = 'xgboost' | 'lightgbm' | 'sklearn' | 'mixed' | 'regressor' | 'forest';

/** The input columns the ONNX export uses: the features the ensemble reads, in schema order. */
export function boostedColumns(e: BoostedEnsemble): FeatureName[] {
  const read = new Set<string>();
  const walk = (t: BoostedTree): void => {
    if (t.type === 'split') {
      read.add(t.input);
      walk(t.left);
      walk(t.right);
    }
  };
  e.trees.forEach(walk);
  return e.inputs.filter((i) => read.has(i.name)).map((i) => i.feature);
}

const f32 = (x: number) => Math.fround(x);
/** The largest float32 below float32 `x`. */
function prevFloat32(x: number): number {
  const a = new Float32Array([x]);
  const i = new Int32Array(a.buffer);
  if (x === 0) return -(2 ** -149);
  i[0]! += x > 0 ? -1 : 1;
  return a[0]!;
}

/** Writes a boosted ensemble as an ONNX model in a converter's convention. */
export function boostedToOnnx(e: BoostedEnsemble, convention: OnnxConvention, seed = 1): Uint8Array {
  const columns = boostedColumns(e);
  const inputByName = new Map(e.inputs.map((i) => [i.name, i]));
  const rng = createRng(seed);
  const treeIds: number[] = [];
  const nodeIds: number[] = [];
  const featureIds: number[] = [];
  const modes: NodeMode[] = [];
  const values: number[] = [];
  const trueIds: number[] = [];
  const falseIds: number[] = [];
  const wTree: number[] = [];
  const wNode: number[] = [];
  const wValue: number[] = [];
  const foldBase = convention === 'lightgbm';
  const forest = convention === 'forest';
  const wIds: number[] = [];
  const double = convention === 'sklearn';
  e.trees.forEach((tree, t) => {
    // Pre-order numbering; sklearn's writer order is emulated by reversing ids and starting at 1.
    const count = (n: BoostedTree): number => (n.type === 'leaf' ? 1 : 1 + count(n.left) + count(n.right));
    const total = count(tree);
    let next = 0;
    const idOf = (k: number) => (convention === 'sklearn' ? total - k : k);
    const visit = (n: BoostedTree): number => {
      const id = idOf(next++);
      const at = treeIds.length;
      treeIds.push(t);
      nodeIds.push(id);
      if (n.type === 'leaf') {
        featureIds.push(0);
        modes.push('LEAF');
        values.push(0);
        trueIds.push(0);
        falseIds.push(0);
        if (forest) {
          const p = sigmoid(4 * n.weight) / e.trees.length;
          wTree.push(t, t);
          wNode.push(id, id);
          wIds.push(0, 1);
          wValue.push(1 / e.trees.length - p, p);
          return id;
        }
        wTree.push(t);
        wNode.push(id);
        wIds.push(0);
        wValue.push(n.weight + (foldBase && t === 0 ? e.base : 0));
        return id;
      }
      const input = inputByName.get(n.input)!;
      const column = columns.indexOf(input.feature);
      // `code ≤ threshold` ⇔ x < bound (the raw value's column), for each quantizer kind.
      const q = input.quantizer;
      const bound =
        q.kind === 'thresholds'
          ? q.cuts[n.threshold]!
          : q.kind === 'boolean'
            ? 0.5
            : Math.max(
                ...Object.entries(q.codes)
                  .filter(([, c]) => c <= n.threshold)
                  .map(([label]) => onnxColumnValue(input.feature, label)),
              ) + 0.5;
      // Float inputs compare fround(x) with float32 thresholds; double inputs compare exactly.
      const lt = double ? bound : f32(bound);
      let mode: NodeMode;
      if (convention === 'xgboost') mode = 'BRANCH_LT';
      else if (convention === 'regressor') mode = 'BRANCH_GTE';
      else if (convention === 'mixed')
        mode = (['BRANCH_LEQ', 'BRANCH_LT', 'BRANCH_GTE', 'BRANCH_GT', 'BRANCH_EQ', 'BRANCH_NEQ'] as const)[rng.int(6)]!;
      else mode = 'BRANCH_LEQ';
      // EQ / NEQ only say "code ≤ t" for a two-valued column (booleans): x = 0.
      if ((mode === 'BRANCH_EQ' || mode === 'BRANCH_NEQ') && q.kind !== 'boolean') mode = 'BRANCH_LT';
      let value: number;
      let leftIsTrue: boolean;
      switch (mode) {
        case 'BRANCH_LT':
          [value, leftIsTrue] = [lt, true];
          break;
        case 'BRANCH_GTE':
          [value, leftIsTrue] = [lt, false];
          break;
        case 'BRANCH_LEQ':
          [value, leftIsTrue] = [double ? nextDown(lt) : prevFloat32(lt), true];
          break;
        case 'BRANCH_GT':
          [value, leftIsTrue] = [double ? nextDown(lt) : prevFloat32(lt), false];
          break;
        default:
          [value, leftIsTrue] = [0, mode === 'BRANCH_EQ'];
      }
      featureIds.push(column);
      modes.push(mode);
      values.push(value);
      trueIds.push(0);
      falseIds.push(0);
      const left = visit(n.left);
      const right = visit(n.right);
      trueIds[at] = leftIsTrue ? left : right;
      falseIds[at] = leftIsTrue ? right : left;
      return id;
    };
    visit(tree);
  });
  const regressor = convention === 'regressor';
  const spec: OnnxEnsembleSpec = {
    op: regressor ? 'TreeEnsembleRegressor' : 'TreeEnsembleClassifier',
    opset: double ? 3 : 1,
    features: columns.length,
    elemType: double ? 'double' : 'float',
    producer: `blindscore-boost (${convention} convention)`,
    ints: {
      nodes_treeids: treeIds,
      nodes_nodeids: nodeIds,
      nodes_featureids: featureIds,
      nodes_truenodeids: trueIds,
      nodes_falsenodeids: falseIds,
      ...(regressor
        ? { target_treeids: wTree, target_nodeids: wNode, target_ids: wTree.map(() => 0), n_targets: 1 }
        : { class_treeids: wTree, class_nodeids: wNode, class_ids: wIds, classlabels_int64s: [0, 1] }),
    },
    floats: {
      ...(double ? {} : { nodes_values: values }),
      [regressor ? 'target_weights' : 'class_weights']: wValue,
      ...(foldBase || double || forest ? {} : { base_values: [e.base] }),
    },
    strings: { nodes_modes: modes, post_transform: regressor || forest ? 'NONE' : 'LOGISTIC' },
    doubles: double ? { nodes_values_as_tensor: values, base_values_as_tensor: [e.base] } : {},
    metadata: { feature_names: columns.join(',') },
  };
  return writeOnnxEnsemble(spec);
}
