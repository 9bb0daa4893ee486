/**
 * Bring your own ensemble: an ONNX `TreeEnsembleClassifier` (binary) or `TreeEnsembleRegressor`
 * (what sklearn-onnx and onnxmltools write for XGBoost, LightGBM and scikit-learn tree models)
 * → a sealed BlindScore manifest and private `ensemble.json`.
 *
 * 1. `onnx.ts` decodes the model; the tree attributes are checked here (equal lengths, one
 *    root per tree, no shared or cyclic node, known modes, finite thresholds, leaves only
 *    weighted), every refusal naming the attribute and index.
 * 2. Each input column is a feature (`--field-map`, or the model's `feature_names` metadata).
 *    A comparison becomes a literal over that feature exactly as in the PMML importer: numbers
 *    `x < cut` with the cut at the float32 (or double) boundary of the threshold, booleans,
 *    years-employed bins and other categories as value sets (their column holds 0/1, the bin
 *    index, or the value's index in the feature schema).
 * 3. The trees are rebuilt tracking what can still reach each node, so splits no applicant can
 *    fall on either side of vanish; every feature gets a quantizer cut exactly at the thresholds
 *    left (`pmml-coding.ts`), so `code ≤ t` holds for exactly the values the ONNX node sends
 *    to its true branch.
 * 4. Leaf weights become small integers (`ensemble.ts`): the decision `output ≥ --threshold`
 *    becomes `Σ integer leaves ≥ integer threshold`.
 *
 * ONNX semantics kept (as onnxruntime computes them): a classifier whose weights are all for
 * class id 0 is the binary one-score convention (XGBoost, LightGBM, scikit-learn gradient
 * boosting): its score is the approving class's; weights for both class ids (scikit-learn
 * forests) score the approving class (id 1) by its own weights. `base_values` add to the score,
 * `post_transform` LOGISTIC maps it through the logistic function before the threshold. A
 * regressor's `aggregate_function` may be SUM or AVERAGE. Missing-value tracks are irrelevant:
 * no feature is ever missing.
 *
 * Browser-safe (no I/O).
 */
import { ModelError } from '../../model/errors.ts';
import { quantizeLeafValues } from '../../model/ensemble.ts';
import { FEATURE_NAMES, FEATURE_SPECS, type CreditFeatures, type FeatureName } from '../../model/features.ts';
import { CSV_COLUMNS } from './columns.ts';
import {
  MAX_ENSEMBLE_DEPTH,
  MAX_ENSEMBLE_TREES,
  MAX_ENSEMBLE_TREE_NODES,
  sealEnsemble,
  type EnsembleModel,
  type EnsembleNode,
  type OnnxImportedInfo,
  type TreeNode,
} from '../../model/private-model.ts';
import { float32LessThanCut, nextUp } from './float.ts';
import { MAX_ENSEMBLE_NODES, NODE_MODES, parseOnnxEnsemble, type AttributeValue, type NodeMode, type OnnxEnsemble } from './onnx.ts';
import { finiteCodes, numericCuts, type FiniteSplit, type Use } from './pmml-coding.ts';
import { domainOf, featureNamed, type Literal } from './pmml-fields.ts';
import { bitsForLevels, digitsForBits, quantizerLevels, type EncryptedInput, type Quantizer } from '../../model/quantize.ts';
import { DEFAULT_MODEL_NAME, ensembleBody, manifestBody } from './train.ts';

export interface ImportOnnxOptions {
  /**
   * Input column → feature: an array (column index → feature name, or null for a column the
   * trees must not read) or an object keyed by column index. Default: the model's
   * `feature_names` metadata (comma-separated), which BlindScore's own writer sets.
   */
  fieldMap?: readonly (string | null)[] | Readonly<Record<string, string>>;
  /** Approve when the model's output (probability of class 1 / the regression value) ≥ this; default 0.5. */
  threshold?: number;
  /** Largest leaf-value range of one tree after scaling (default 63: three 2-bit digits). */
  leafRange?: number;
  /** Model name shown in the public manifest; default `DEFAULT_MODEL_NAME`. */
  name?: string;
  /** The ensemble file's salt (64 hex digits); a fresh random one by default. */
  salt?: string;
}

export interface ImportedEnsemble {
  model: EnsembleModel;
  /** Which input column became which feature. */
  fields: { column: number; feature: FeatureName }[];
  /** The real-valued reading of the model, for checks: score of codes' leaves before rounding. */
  scale: number;
}

const invalid = (message: string, details: Record<string, unknown> = {}): never => {
  throw new ModelError('invalid_onnx', message, details);
};
const unsupported = (message: string, details: Record<string, unknown> = {}): never => {
  throw new ModelError('unsupported_onnx', message, details);
};

// ---------------------------------------------------------------------------------------------
// Attributes

class Attributes {
  constructor(
    private readonly map: ReadonlyMap<string, AttributeValue>,
    private readonly op: string,
  ) {}

  private get(name: string): AttributeValue | undefined {
    return this.map.get(name);
  }

  has(name: string): boolean {
    return this.map.has(name) || this.map.has(`${name}_as_tensor`);
  }

  ints(name: string, required = true): number[] {
    const v = this.get(name);
    if (v === undefined) return required ? invalid(`${this.op} attribute ${name} is missing`, { attribute: name }) : [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'number'))
      return invalid(`${this.op} attribute ${name} must be a list of integers`);
    return v as number[];
  }

  /** A float list, or its double `_as_tensor` twin (opset 3); never both. */
  numbers(name: string, required = true): number[] {
    const plain = this.get(name);
    const tensor = this.get(`${name}_as_tensor`);
    if (plain !== undefined && tensor !== undefined) invalid(`${this.op} has both ${name} and ${name}_as_tensor`, { attribute: name });
    const v = plain ?? tensor;
    if (v === undefined) return required ? invalid(`${this.op} attribute ${name} is missing`, { attribute: name }) : [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'number')) return invalid(`${this.op} attribute ${name} must be a list of numbers`);
    return v as number[];
  }

  strings(name: string, required = true): string[] {
    const v = this.get(name);
    if (v === undefined) return required ? invalid(`${this.op} attribute ${name} is missing`, { attribute: name }) : [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) return invalid(`${this.op} attribute ${name} must be a list of strings`);
    return v as string[];
  }

  string(name: string, fallback: string): string {
    const v = this.get(name);
    if (v === undefined) return fallback;
    if (typeof v !== 'string') return invalid(`${this.op} attribute ${name} must be a string`);
    return v;
  }

  int(name: string, fallback: number): number {
    const v = this.get(name);
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isInteger(v)) return invalid(`${this.op} attribute ${name} must be an integer`);
    return v;
  }

  sameLength(names: readonly string[], lists: readonly (readonly unknown[])[]): void {
    const n = lists[0]!.length;
    lists.forEach((l, i) => {
      if (l.length !== n)
        invalid(`${this.op} attribute ${names[i]} has ${l.length} entries, ${names[0]} has ${n}`, { attribute: names[i] });
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Raw trees

interface RawBranch {
  kind: 'branch';
  where: string;
  mode: Exclude<NodeMode, 'LEAF'>;
  column: number;
  value: number;
  yes: number;
  no: number;
}
interface RawLeaf {
  kind: 'leaf';
  where: string;
  weight: number;
}
type RawNode = RawBranch | RawLeaf;

/** Decodes the node and weight attributes into trees (index → node), checked for shape. */
function rawTrees(e: OnnxEnsemble, features: number): { trees: { root: number; nodes: Map<number, RawNode> }[]; base: number } {
  const op = e.op;
  const a = new Attributes(e.attributes, op);
  const names = [
    'nodes_treeids',
    'nodes_nodeids',
    'nodes_featureids',
    'nodes_modes',
    'nodes_values',
    'nodes_truenodeids',
    'nodes_falsenodeids',
  ];
  const treeIds = a.ints('nodes_treeids');
  const nodeIds = a.ints('nodes_nodeids');
  const featureIds = a.ints('nodes_featureids');
  const modes = a.strings('nodes_modes');
  const values = a.numbers('nodes_values');
  const trueIds = a.ints('nodes_truenodeids');
  const falseIds = a.ints('nodes_falsenodeids');
  a.sameLength(names, [treeIds, nodeIds, featureIds, modes, values, trueIds, falseIds]);
  if (treeIds.length > MAX_ENSEMBLE_NODES) {
    unsupported(`${op} has ${treeIds.length} nodes; at most ${MAX_ENSEMBLE_NODES} are supported`, { attribute: 'nodes_treeids' });
  }
  const byTree = new Map<number, Map<number, RawNode>>();
  treeIds.forEach((tree, i) => {
    const where = `tree ${tree} node ${nodeIds[i]}`;
    const mode = modes[i] as NodeMode;
    if (!(NODE_MODES as readonly string[]).includes(mode))
      invalid(`nodes_modes[${i}] (${where}) is ${JSON.stringify(modes[i])}, not a mode of ONNX-ML`, { attribute: 'nodes_modes', index: i });
    let nodes = byTree.get(tree);
    if (nodes === undefined) {
      if (byTree.size >= MAX_ENSEMBLE_TREES) unsupported(`${op} has more than ${MAX_ENSEMBLE_TREES} trees`, { attribute: 'nodes_treeids' });
      byTree.set(tree, (nodes = new Map()));
    }
    if (nodes.has(nodeIds[i]!)) invalid(`nodes_nodeids[${i}]: ${where} is defined twice`, { attribute: 'nodes_nodeids', index: i });
    if (mode === 'LEAF') {
      nodes.set(nodeIds[i]!, { kind: 'leaf', where, weight: 0 });
      return;
    }
    const value = values[i]!;
    if (!Number.isFinite(value))
      invalid(`nodes_values[${i}] (${where}) is ${value}; a threshold must be finite`, { attribute: 'nodes_values', index: i });
    const column = featureIds[i]!;
    if (column < 0 || column >= features) {
      invalid(`nodes_featureids[${i}] (${where}) is column ${column}; the input has ${features} columns`, {
        attribute: 'nodes_featureids',
        index: i,
      });
    }
    nodes.set(nodeIds[i]!, { kind: 'branch', where, mode: mode as RawBranch['mode'], column, value, yes: trueIds[i]!, no: falseIds[i]! });
  });

  // Leaf weights: the approving class's (classifier) or the one target's (regressor).
  const classifier = op === 'TreeEnsembleClassifier';
  const prefix = classifier ? 'class' : 'target';
  const wTrees = a.ints(`${prefix}_treeids`);
  const wNodes = a.ints(`${prefix}_nodeids`);
  const wIds = a.ints(`${prefix}_ids`);
  const weights = a.numbers(`${prefix}_weights`);
  a.sameLength([`${prefix}_treeids`, `${prefix}_nodeids`, `${prefix}_ids`, `${prefix}_weights`], [wTrees, wNodes, wIds, weights]);
  let target = 0;
  let base = 0;
  const baseValues = a.numbers('base_values', false);
  if (baseValues.some((v) => !Number.isFinite(v))) invalid('base_values must be finite', { attribute: 'base_values' });
  if (classifier) {
    const labels = a.has('classlabels_int64s') ? a.ints('classlabels_int64s') : a.strings('classlabels_strings');
    if (labels.length !== 2)
      unsupported(`classlabels has ${labels.length} classes; only binary classifiers are supported`, { attribute: 'classlabels_int64s' });
    const ids = new Set(wIds);
    if ([...ids].some((id) => id !== 0 && id !== 1))
      invalid('class_ids must be 0 or 1 for a binary classifier', { attribute: 'class_ids' });
    // One score (all weights on id 0): the approving class's score, as onnxruntime reads it.
    target = ids.has(1) ? 1 : 0;
    if (target === 0 && baseValues.length > 1)
      unsupported('base_values has 2 entries with one-score class weights', { attribute: 'base_values' });
    base = baseValues.length === 0 ? 0 : baseValues.length === 1 ? baseValues[0]! : baseValues[target]!;
  } else {
    if (a.int('n_targets', 1) !== 1) unsupported('n_targets must be 1 (one score)', { attribute: 'n_targets' });
    if (baseValues.length > 1) unsupported('base_values has more than one entry', { attribute: 'base_values' });
    base = baseValues[0] ?? 0;
    if (wIds.some((id) => id !== 0)) invalid('target_ids must all be 0 with one target', { attribute: 'target_ids' });
  }
  wTrees.forEach((tree, i) => {
    const node = byTree.get(tree)?.get(wNodes[i]!);
    if (node === undefined)
      invalid(`${prefix}_nodeids[${i}]: tree ${tree} node ${wNodes[i]} does not exist`, { attribute: `${prefix}_nodeids`, index: i });
    if (node!.kind !== 'leaf')
      invalid(`${prefix}_nodeids[${i}]: tree ${tree} node ${wNodes[i]} is a branch; weights belong to leaves`, {
        attribute: `${prefix}_nodeids`,
        index: i,
      });
    if (!Number.isFinite(weights[i]!))
      invalid(`${prefix}_weights[${i}] is ${weights[i]}; weights must be finite`, { attribute: `${prefix}_weights`, index: i });
    if (wIds[i] === target) (node as RawLeaf).weight += weights[i]!;
  });
  if (!classifier) {
    const agg = a.string('aggregate_function', 'SUM');
    if (agg !== 'SUM' && agg !== 'AVERAGE') {
      unsupported(`aggregate_function ${agg}: only SUM and AVERAGE are supported`, { attribute: 'aggregate_function' });
    }
    if (agg === 'AVERAGE') {
      for (const nodes of byTree.values()) {
        for (const n of nodes.values()) if (n.kind === 'leaf') n.weight /= byTree.size;
      }
    }
  }

  // One root per tree (the node no other node names), every node reached once: no cycle, no sharing.
  const trees = [...byTree].map(([id, nodes]) => {
    const children = new Map<number, number>();
    for (const n of nodes.values()) {
      if (n.kind !== 'branch') continue;
      for (const c of [n.yes, n.no]) {
        if (!nodes.has(c)) invalid(`${n.where} branches to node ${c}, which tree ${id} does not have`, { attribute: 'nodes_truenodeids' });
        children.set(c, (children.get(c) ?? 0) + 1);
      }
    }
    const roots = [...nodes.keys()].filter((k) => !children.has(k));
    if (roots.length !== 1)
      invalid(`tree ${id} has ${roots.length} roots (nodes no branch points to); it needs one — cyclic or disconnected node references`, {
        attribute: 'nodes_truenodeids',
        tree: id,
      });
    for (const [c, count] of children)
      if (count > 1)
        invalid(`tree ${id} node ${c} is the child of ${count} branches; node references must form a tree`, {
          attribute: 'nodes_truenodeids',
          tree: id,
        });
    // With one root and one parent each, a node unreachable from the root lies on a cycle.
    const seen = new Set<number>();
    const stack: [number, number][] = [[roots[0]!, 0]];
    while (stack.length > 0) {
      const [k, depth] = stack.pop()!;
      seen.add(k);
      const n = nodes.get(k)!;
      if (depth > MAX_ENSEMBLE_DEPTH) unsupported(`tree ${id} is deeper than ${MAX_ENSEMBLE_DEPTH} levels`, { tree: id });
      if (n.kind === 'branch') stack.push([n.yes, depth + 1], [n.no, depth + 1]);
    }
    if (seen.size !== nodes.size)
      invalid(`tree ${id} has nodes on a cycle (unreachable from its root)`, { attribute: 'nodes_truenodeids', tree: id });
    return { root: roots[0]!, nodes };
  });
  return { trees, base };
}

// ---------------------------------------------------------------------------------------------
// Columns and literals

/** The column value of a feature, as the ONNX input holds it (the writer and the checks use this). */
export function onnxColumnValue(feature: FeatureName, value: boolean | number | string): number {
  const spec = FEATURE_SPECS[feature];
  if (spec.kind === 'boolean') return value ? 1 : 0;
  if (spec.kind === 'category') return spec.values.indexOf(value as string);
  return value as number;
}

/** One applicant as an ONNX input row over `columns` (null columns are 0). */
export function onnxRow(columns: readonly (FeatureName | null)[], features: CreditFeatures): number[] {
  return columns.map((f) => (f === null ? 0 : onnxColumnValue(f, features[f])));
}

/** `--field-map` or metadata → column index → feature. */
function resolveColumns(e: OnnxEnsemble, map: ImportOnnxOptions['fieldMap']): (FeatureName | null)[] {
  let entries: [number, string][];
  if (map === undefined) {
    const names = e.metadata.get('feature_names');
    if (names === undefined) {
      return unsupported('the model does not name its input columns: pass --field-map (a JSON array of feature names, one per column)', {});
    }
    entries = names.split(',').map((n, i) => [i, n.trim()]);
  } else if (Array.isArray(map)) {
    entries = map.flatMap((f, i) => (f === null ? [] : [[i, f] as [number, string]]));
  } else {
    entries = Object.entries(map).map(([k, f]) => {
      const i = Number(k);
      if (!Number.isInteger(i) || i < 0)
        throw new ModelError('unknown_field', `field map key ${JSON.stringify(k)} is not a column index`, { field: k });
      return [i, f as string];
    });
  }
  const count = Math.max(e.input.features ?? 0, ...entries.map(([i]) => i + 1));
  if (count > 1024) unsupported(`the input has ${count} columns; at most 1024 are supported`);
  const columns: (FeatureName | null)[] = new Array(count).fill(null);
  const used = new Map<FeatureName, number>();
  for (const [i, name] of entries) {
    if (name === '' || name === 'null') continue;
    const feature = featureNamed(name);
    if (!feature) {
      throw new ModelError(
        'unknown_field',
        `column ${i} maps to ${JSON.stringify(name)}, which is not a feature (${FEATURE_NAMES.join(', ')}, or the seed's column names such as ${CSV_COLUMNS.total_income})`,
        { column: i, field: name },
      );
    }
    if (used.has(feature))
      throw new ModelError('unknown_field', `columns ${used.get(feature)} and ${i} both map to ${feature}`, { column: i });
    used.set(feature, i);
    columns[i] = feature;
  }
  return columns;
}

/** How x compares with c in each mode (x already as the model reads it). */
const holds: Record<Exclude<NodeMode, 'LEAF'>, (x: number, c: number) => boolean> = {
  BRANCH_LEQ: (x, c) => x <= c,
  BRANCH_LT: (x, c) => x < c,
  BRANCH_GTE: (x, c) => x >= c,
  BRANCH_GT: (x, c) => x > c,
  BRANCH_EQ: (x, c) => x === c,
  BRANCH_NEQ: (x, c) => x !== c,
};

/**
 * A numeric comparison as literals: one `x < cut` (or its negation) for the four orders, two for
 * EQ / NEQ (an interval). The cut is exact for the input's element type: float32 inputs compare
 * `fround(x)`, so the boundary is the lowest double that rounds up to the threshold's side.
 */
function numericLiterals(
  feature: FeatureName,
  mode: RawBranch['mode'],
  c: number,
  float32: boolean,
): { lower: Literal; upper?: Literal; equal: boolean } {
  const d = domainOf(feature);
  if (d.kind !== 'numeric') throw new TypeError('numeric feature expected');
  const cut = (strict: boolean) => {
    if (d.integer) return strict ? Math.ceil(c) : Math.floor(c) + 1;
    if (float32) return float32LessThanCut(strict ? c : nextUp(c));
    return strict ? c : nextUp(c);
  };
  const lit = (at: number, below: boolean): Literal =>
    at <= d.min
      ? { kind: 'const', value: !below }
      : at > d.max
        ? { kind: 'const', value: below }
        : { kind: 'numeric', feature, cut: at, below };
  switch (mode) {
    case 'BRANCH_LEQ':
      return { lower: lit(cut(false), true), equal: false };
    case 'BRANCH_LT':
      return { lower: lit(cut(true), true), equal: false };
    case 'BRANCH_GTE':
      return { lower: lit(cut(true), false), equal: false };
    case 'BRANCH_GT':
      return { lower: lit(cut(false), false), equal: false };
    default:
      // x = c ⇔ ¬(x < cut(strict)) ∧ (x < cut(non-strict)).
      return { lower: lit(cut(true), false), upper: lit(cut(false), true), equal: mode === 'BRANCH_EQ' };
  }
}

/** SHA-256 (hex) of the file's bytes. */
async function bytesSha256(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new Uint8Array(bytes)));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

// ---------------------------------------------------------------------------------------------
// Rebuilding the trees over codes

interface Reach {
  ranges: readonly (readonly [number, number])[];
  values: readonly number[];
}

type Draft =
  | { type: 'leaf'; weight: number }
  | { type: 'cut'; feature: number; cut: number; below: Draft; above: Draft }
  | { type: 'set'; feature: number; split: FiniteSplit; yes: Draft; no: Draft };

/**
 * Imports an ONNX tree ensemble as a sealed BlindScore ensemble.
 * @throws ModelError `invalid_onnx` | `unsupported_onnx` | `unknown_field` | `too_many_thresholds` |
 *   `unrepresentable_split`, naming the attribute, tree and node.
 * @example
 * const { model } = await importOnnxModel(readFileSync('bank.onnx'), { fieldMap: ['total_income', 'age'] });
 */
export async function importOnnxModel(bytes: Uint8Array, options: ImportOnnxOptions = {}): Promise<ImportedEnsemble> {
  const e = parseOnnxEnsemble(bytes);
  const a = new Attributes(e.attributes, e.op);
  const post = a.string('post_transform', 'NONE') as 'NONE' | 'LOGISTIC';
  if (post !== 'NONE' && post !== 'LOGISTIC')
    unsupported(`post_transform ${post}: only NONE and LOGISTIC are supported`, { attribute: 'post_transform' });
  const threshold = options.threshold ?? 0.5;
  if (!Number.isFinite(threshold) || (post === 'LOGISTIC' && !(threshold > 0 && threshold < 1))) {
    throw new ModelError('invalid_training', `--threshold ${threshold}: with LOGISTIC output it must be strictly between 0 and 1`);
  }
  const cutoff = post === 'LOGISTIC' ? Math.log(threshold / (1 - threshold)) : threshold;
  const columns = resolveColumns(e, options.fieldMap);
  const { trees, base } = rawTrees(e, columns.length);
  const float32 = e.input.elemType === 'float';

  const splits: FiniteSplit[][] = FEATURE_NAMES.map(() => []);
  const cuts: Use[][] = FEATURE_NAMES.map(() => []);
  const start: Reach = {
    ranges: FEATURE_NAMES.map(() => [-Infinity, Infinity] as const),
    values: FEATURE_NAMES.map((f) => {
      const d = domainOf(f);
      return d.kind === 'finite' ? (1 << d.values.length) - 1 : 0;
    }),
  };

  const featureOf = (n: RawBranch): FeatureName => {
    const f = columns[n.column];
    if (f === null || f === undefined) {
      throw new ModelError('unknown_field', `${n.where} reads input column ${n.column}, which the field map does not name`, {
        column: n.column,
      });
    }
    return f;
  };
  type Branch = (r: Reach) => Draft;
  const literal = (lit: Literal, where: string, r: Reach, yes: Branch, no: Branch): Draft => {
    if (lit.kind === 'const') return lit.value ? yes(r) : no(r);
    const f = FEATURE_NAMES.indexOf(lit.feature);
    if (lit.kind === 'finite') {
      const within = r.values[f]!;
      const hold = within & lit.members;
      if (hold === 0) return no(r);
      if (hold === within) return yes(r);
      const split: FiniteSplit = { within, yes: hold, use: { literal: lit, where, field: `column ${columns.indexOf(lit.feature)}` } };
      splits[f]!.push(split);
      const narrowed = (v: number) => ({ ...r, values: r.values.map((x, i) => (i === f ? v : x)) });
      return { type: 'set', feature: f, split, yes: yes(narrowed(hold)), no: no(narrowed(within & ~hold)) };
    }
    const [low, high] = r.ranges[f]!;
    const [onBelow, onAbove] = lit.below ? [yes, no] : [no, yes];
    if (lit.cut >= high) return onBelow(r);
    if (lit.cut <= low) return onAbove(r);
    cuts[f]!.push({ literal: lit, where, field: `column ${columns.indexOf(lit.feature)}` });
    const narrowed = (range: readonly [number, number]) => ({ ...r, ranges: r.ranges.map((x, i) => (i === f ? range : x)) });
    return { type: 'cut', feature: f, cut: lit.cut, below: onBelow(narrowed([low, lit.cut])), above: onAbove(narrowed([lit.cut, high])) };
  };
  const build = (nodes: Map<number, RawNode>, k: number, r: Reach): Draft => {
    const n = nodes.get(k)!;
    if (n.kind === 'leaf') return { type: 'leaf', weight: n.weight };
    const feature = featureOf(n);
    const d = domainOf(feature);
    const yes: Branch = (q) => build(nodes, n.yes, q);
    const no: Branch = (q) => build(nodes, n.no, q);
    if (d.kind === 'finite') {
      // The column holds each value's number (0/1, the bin index) or its index in the schema.
      const members = d.values.reduce((acc, v, i) => {
        const x = float32 ? Math.fround(v.number ?? i) : (v.number ?? i);
        return holds[n.mode](x, n.value) ? acc | (1 << i) : acc;
      }, 0);
      const all = (1 << d.values.length) - 1;
      const lit: Literal =
        members === 0
          ? { kind: 'const', value: false }
          : members === all
            ? { kind: 'const', value: true }
            : { kind: 'finite', feature, members };
      return literal(lit, n.where, r, yes, no);
    }
    const { lower, upper, equal } = numericLiterals(feature, n.mode, n.value, float32);
    if (upper === undefined) return literal(lower, n.where, r, yes, no);
    // EQ: x ≥ c (lower, negated form) and x ≤ c (upper); NEQ swaps the branches.
    const [inside, outside] = equal ? [yes, no] : [no, yes];
    return literal(lower, n.where, r, (q) => literal(upper, n.where, q, inside, outside), outside);
  };
  let drafts: Draft[];
  try {
    drafts = trees.map((t) => build(t.nodes, t.root, start));
  } catch (err) {
    if (err instanceof RangeError && /call stack/i.test(err.message)) unsupported('the trees nest too deeply to rebuild');
    throw err;
  }

  const cutLists = FEATURE_NAMES.map((feature, f) => numericCuts(feature, cuts[f]!));
  const codes = FEATURE_NAMES.map((feature, f) => (domainOf(feature).kind === 'finite' ? finiteCodes(feature, splits[f]!) : []));
  const quantizers = FEATURE_NAMES.map((feature, f): Quantizer => {
    const domain = domainOf(feature);
    if (domain.kind === 'numeric') return { kind: 'thresholds', cuts: cutLists[f]! };
    if (FEATURE_SPECS[feature].kind === 'boolean') return { kind: 'boolean' };
    return { kind: 'category', codes: Object.fromEntries(domain.values.map((v, i) => [v.label, codes[f]![i]!])) };
  });

  // Drafts → code splits with real leaves; then leaves → integers.
  type Coded = { type: 'leaf'; weight: number } | { type: 'split'; feature: number; threshold: number; left: Coded; right: Coded };
  const finish = (d: Draft): Coded => {
    if (d.type === 'leaf') return d;
    if (d.type === 'cut') {
      return {
        type: 'split',
        feature: d.feature,
        threshold: cutLists[d.feature]!.indexOf(d.cut),
        left: finish(d.below),
        right: finish(d.above),
      };
    }
    const c = codes[d.feature]!;
    const codesOf = (mask: number) => c.filter((_, v) => mask & (1 << v));
    const yes = codesOf(d.split.yes);
    const no = codesOf(d.split.within & ~d.split.yes);
    const yesLow = Math.max(...yes) < Math.min(...no);
    return {
      type: 'split',
      feature: d.feature,
      threshold: yesLow ? Math.max(...yes) : Math.max(...no),
      left: finish(yesLow ? d.yes : d.no),
      right: finish(yesLow ? d.no : d.yes),
    };
  };
  const coded = drafts.map(finish);
  const leavesOf = (t: Coded): number[] => (t.type === 'leaf' ? [t.weight] : [...leavesOf(t.left), ...leavesOf(t.right)]);
  const { scale, threshold: intThreshold } = quantizeLeafValues(coded.map(leavesOf), base, cutoff, options.leafRange ?? 63);
  // Integer leaves; sibling leaves of one value merge (the split then decides nothing).
  type IntTree = { type: 'leaf'; value: number } | { type: 'split'; feature: number; threshold: number; left: IntTree; right: IntTree };
  const rounded = (g: Coded): IntTree => {
    if (g.type === 'leaf') return { type: 'leaf', value: Math.round(scale * g.weight) + 0 };
    const left = rounded(g.left);
    const right = rounded(g.right);
    if (left.type === 'leaf' && right.type === 'leaf' && left.value === right.value) return left;
    return { type: 'split', feature: g.feature, threshold: g.threshold, left, right };
  };
  const toNodes = (t: IntTree): EnsembleNode[] => {
    const out: EnsembleNode[] = [];
    const visit = (g: IntTree): number => {
      const i = out.length;
      if (g.type === 'leaf') {
        out.push({ type: 'leaf', value: g.value });
        return i;
      }
      out.push({ type: 'leaf', value: 0 }); // placeholder until the children have indices
      const left = visit(g.left);
      const right = visit(g.right);
      out[i] = { type: 'split', input: FEATURE_NAMES[g.feature]!, threshold: g.threshold, left, right };
      return i;
    };
    visit(t);
    return out;
  };
  const ensembleTrees = coded.map((t) => ({ nodes: toNodes(rounded(t)) }));
  ensembleTrees.forEach((t, i) => {
    if (t.nodes.length > MAX_ENSEMBLE_TREE_NODES)
      unsupported(`tree ${i} has ${t.nodes.length} nodes as binary splits; at most ${MAX_ENSEMBLE_TREE_NODES}`);
  });

  const inputs: EncryptedInput[] = FEATURE_NAMES.map((feature, f) => {
    const quantizer = quantizers[f]!;
    const bits = bitsForLevels(quantizerLevels(quantizer));
    return { name: feature, feature, party: FEATURE_SPECS[feature].party, bits, digits: digitsForBits(bits), quantizer };
  });
  const splitNodes = ensembleTrees.flatMap((t) => t.nodes.filter((n): n is TreeNode & { type: 'split' } => n.type === 'split'));
  const training: OnnxImportedInfo = {
    source: 'onnx',
    sha256: await bytesSha256(bytes),
    producer: e.producer,
    op: e.op,
    postTransform: post,
    threshold,
    rows: 0,
    metrics: null,
  };
  const manifest = manifestBody((options.name ?? DEFAULT_MODEL_NAME).slice(0, 200), inputs, splitNodes);
  const model = await sealEnsemble(manifest, ensembleBody(ensembleTrees, intThreshold, scale, training, options.salt));
  const fields = columns.flatMap((feature, column) => (feature === null ? [] : [{ column, feature }]));
  return { model, fields, scale };
}
