/**
 * The training pipeline: labeled applications → quantizers → CART → sealed manifest and tree,
 * with held-out accuracy, precision and recall (approval is the positive class).
 *
 * Deterministic: the same rows and options give the same bytes. `npm run train` runs
 * {@link trainDemoModel} and writes `model/artifacts/`.
 *
 * Browser-safe (no I/O here; the CLI is `train-cli.ts`).
 */
import { DEFAULT_POLICY, type ModelPolicy } from './constraints.ts';
import { ModelError } from '../../model/errors.ts';
import { FEATURE_NAMES, YEARS_EMPLOYED_BINS, type FeatureName } from '../../model/features.ts';
import { FEATURE_TEXTS } from './form-texts.ts';
import {
  TREE_KIND,
  randomSalt,
  sealModel,
  type Model,
  type TrainingInfo,
  type TreeBody,
  ENSEMBLE_KIND,
  type EnsembleBody,
} from '../../model/private-model.ts';
import { EXPLANATION_FEATURE, fitInputs } from './fit-quantizers.ts';
import { trainCart, type CartOptions } from './cart.ts';
import { predictCodes } from '../../model/infer.ts';
import { FORMAT_VERSION, MANIFEST_KIND, PARAMETER_SETS, describeFeature, type ManifestBody } from '../../model/manifest.ts';
import { quantizeParsed, quantizeValue, quantizerLevels, type EncryptedInput } from '../../model/quantize.ts';
import { createRng } from './random.ts';
import { generateApplications, type LabeledApplication } from './synthetic.ts';

/** The public name of a model unless the bank gives one (nothing about its origin). */
export const DEFAULT_MODEL_NAME = 'BlindScore credit-card approval';

export interface TrainOptions {
  /** Model name shown in the (public) manifest. */
  name?: string;
  maxDepth?: number;
  minSamplesLeaf?: number;
  /** `balanced` weighs each class by n / (2·n_class) on the training rows. */
  classWeights?: 'balanced' | { denied: number; approved: number };
  /** Share of rows held out for the reported metrics (default 0.2). */
  heldOutFraction?: number;
  /** Seed of the train / held-out shuffle. */
  splitSeed?: number;
  /** Where the rows came from, recorded in the private tree file. */
  source?: { kind: 'synthetic'; seed: number } | { kind: 'csv' };
  /** The tree file's salt (64 hex digits); a fresh random one by default. */
  salt?: string;
  /** The bank's policy the tree must satisfy ({@link DEFAULT_POLICY} by default). */
  policy?: ModelPolicy;
  /**
   * Features to collect although the tree does not read them: the bank's explicit choice
   * (data minimisation otherwise asks only for what the tree reads).
   */
  collect?: readonly FeatureName[];
}

export interface Metrics {
  accuracy: number;
  precision: number;
  recall: number;
  /** ROC AUC, applicants ranked by their leaf's training approval share. */
  auc?: number;
  /** Share of approved rows in the whole data set. */
  approvalRate: number;
}

const round4 = (v: number) => Math.round(v * 10_000) / 10_000;

/** Accuracy, precision and recall of approval predictions. */
export function scorePredictions(labels: readonly number[], predictions: readonly number[]): Omit<Metrics, 'approvalRate'> {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let correct = 0;
  labels.forEach((y, i) => {
    const p = predictions[i];
    if (p === y) correct++;
    if (p === 1 && y === 1) tp++;
    if (p === 1 && y === 0) fp++;
    if (p === 0 && y === 1) fn++;
  });
  return {
    accuracy: labels.length === 0 ? 0 : correct / labels.length,
    precision: tp + fp === 0 ? 0 : tp / (tp + fp),
    recall: tp + fn === 0 ? 0 : tp / (tp + fn),
  };
}

/**
 * ROC AUC of scores against labels (the Mann–Whitney U statistic: the probability that an
 * approved row scores above a denied one, ties counting one half).
 */
export function rocAuc(labels: readonly number[], scores: readonly number[]): number {
  const order = scores.map((s, i) => ({ s, y: labels[i]! })).sort((a, b) => a.s - b.s);
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j < order.length && order[j]!.s === order[i]!.s) j++;
    const midRank = (i + 1 + j) / 2; // tied scores share their average rank
    for (let k = i; k < j; k++)
      if (order[k]!.y === 1) {
        positives++;
        rankSum += midRank;
      }
    i = j;
  }
  const negatives = order.length - positives;
  if (positives === 0 || negatives === 0) return 0.5;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** Index of the leaf a row's codes reach. */
export function leafIndex(tree: Pick<TreeBody, 'nodes'>, codes: Readonly<Record<string, number>>): number {
  let i = 0;
  for (;;) {
    const node = tree.nodes[i]!;
    if (node.type === 'leaf') return i;
    i = codes[node.input]! <= node.threshold ? node.left : node.right;
  }
}

/** Each leaf's approval share on `rows` (the leaf's score for the AUC); unseen leaves score their decision. */
export function leafScores(
  inputs: readonly EncryptedInput[],
  tree: Pick<TreeBody, 'nodes'>,
  rows: readonly LabeledApplication[],
): Map<number, number> {
  const counts = new Map<number, { n: number; approved: number }>();
  for (const r of rows) {
    const leaf = leafIndex(tree, quantizeParsed(inputs, r.features));
    const c = counts.get(leaf) ?? { n: 0, approved: 0 };
    c.n++;
    c.approved += r.approved;
    counts.set(leaf, c);
  }
  const out = new Map<number, number>();
  tree.nodes.forEach((node, i) => {
    if (node.type !== 'leaf') return;
    const c = counts.get(i);
    out.set(i, c ? c.approved / c.n : node.decision);
  });
  return out;
}

/** Splits rows into training and held-out sets with a seeded shuffle. */
export function splitRows(rows: readonly LabeledApplication[], heldOutFraction: number, seed: number) {
  const order = rows.map((_, i) => i);
  const rng = createRng(seed);
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const heldOut = Math.floor(rows.length * heldOutFraction);
  return {
    train: order.slice(heldOut).map((i) => rows[i]!),
    heldOut: order.slice(0, heldOut).map((i) => rows[i]!),
  };
}

/** Accuracy, precision and recall (rounded to 4 places) of a tree on labeled rows. */
export function scoreModel(
  inputs: readonly EncryptedInput[],
  tree: Pick<TreeBody, 'nodes'>,
  rows: readonly LabeledApplication[],
): Omit<Metrics, 'approvalRate'> {
  const predictions = rows.map((r) => predictCodes(tree, quantizeParsed(inputs, r.features)));
  const scored = scorePredictions(
    rows.map((r) => r.approved),
    predictions,
  );
  return { accuracy: round4(scored.accuracy), precision: round4(scored.precision), recall: round4(scored.recall) };
}

/** Share of approved rows, rounded to 4 places. */
export function approvalRate(rows: readonly LabeledApplication[]): number {
  return rows.length === 0 ? 0 : round4(rows.reduce((s, r) => s + r.approved, 0) / rows.length);
}

/**
 * The public manifest of a model over `inputs`, as training and import write it. Data
 * minimisation: only the inputs the tree reads are kept (the form asks for nothing else), plus
 * the explanation's input and any the bank chose to `collect` (listed as `unreadInputs`).
 */
export function manifestBody(
  name: string,
  inputs: readonly EncryptedInput[],
  nodes: TreeBody['nodes'],
  collect: readonly FeatureName[] = [],
): ManifestBody {
  const read = new Set(nodes.flatMap((n) => (n.type === 'split' ? [n.input] : [])));
  const exInput = inputs.find((i) => i.feature === EXPLANATION_FEATURE)!;
  const extra = new Set(collect);
  const kept = inputs.filter((i) => read.has(i.name) || i === exInput || extra.has(i.feature));
  const unread = kept.filter((i) => !read.has(i.name) && i !== exInput).map((i) => i.name);
  // The explanation speaks of being employed for N years, so it holds `employed` at 1; it then
  // also says something to a not-employed applicant in bin 0 (being employed would do).
  const employed = kept.find((i) => i.feature === 'employed' && read.has(i.name));
  const assume = employed ? [{ input: employed.name, code: 1 }] : undefined;
  // Otherwise bin 0 is left out: its bit could only be 1 for an applicant in bin 0 who is already approved.
  const bins = (assume ? YEARS_EMPLOYED_BINS : YEARS_EMPLOYED_BINS.slice(1)).map((label) => ({
    code: quantizeValue(exInput.quantizer, label),
    label,
  }));
  return {
    kind: MANIFEST_KIND,
    formatVersion: FORMAT_VERSION,
    name,
    parameterSet: { id: 'tuniform', tfheName: PARAMETER_SETS.tuniform, messageModulus: 4, carryModulus: 4 },
    features: FEATURE_NAMES.map(describeFeature),
    inputs: kept,
    explanation: { input: exInput.name, bins, ...(assume ? { assume } : {}) },
    ...(unread.length > 0 ? { unreadInputs: unread } : {}),
    labels: FEATURE_TEXTS,
  };
}

/** The private tree file's body: nodes, the training or import record, and a salt. */
export function treeBody(nodes: TreeBody['nodes'], training: TrainingInfo, salt: string = randomSalt()): TreeBody {
  return { kind: TREE_KIND, formatVersion: FORMAT_VERSION, salt, training, nodes };
}

/** The private ensemble file's body: integer-leaf trees, their threshold and scale, the record, and a salt. */
export function ensembleBody(
  trees: EnsembleBody['trees'],
  threshold: number,
  scale: number,
  training: EnsembleBody['training'],
  salt: string = randomSalt(),
): EnsembleBody {
  return { kind: ENSEMBLE_KIND, formatVersion: FORMAT_VERSION, salt, training, scale, threshold, trees };
}

/**
 * Trains and seals a model.
 * @throws ModelError `invalid_training` for too few rows, a single class, or bad options.
 */
export async function trainModel(
  rows: readonly LabeledApplication[],
  options: TrainOptions = {},
): Promise<{ model: Model; metrics: Metrics }> {
  const maxDepth = options.maxDepth ?? 5;
  const minSamplesLeaf = options.minSamplesLeaf ?? 40;
  const heldOutFraction = options.heldOutFraction ?? 0.2;
  if (!(heldOutFraction >= 0 && heldOutFraction < 1)) {
    throw new ModelError('invalid_training', `heldOutFraction must be in [0, 1), got ${heldOutFraction}`);
  }
  const { train, heldOut } = splitRows(rows, heldOutFraction, options.splitSeed ?? 1);
  if (train.length < 2 * minSamplesLeaf) {
    throw new ModelError('invalid_training', `${train.length} training rows are too few for minSamplesLeaf ${minSamplesLeaf}`);
  }
  const approvedCount = train.reduce((s, r) => s + r.approved, 0);
  if (approvedCount === 0 || approvedCount === train.length) {
    throw new ModelError('invalid_training', 'the training rows hold a single class');
  }
  const weights =
    options.classWeights === undefined || options.classWeights === 'balanced'
      ? {
          denied: round4(train.length / (2 * (train.length - approvedCount))),
          approved: round4(train.length / (2 * approvedCount)),
        }
      : options.classWeights;

  const policy = options.policy ?? DEFAULT_POLICY;
  const { protectedAge, incomeFloor } = policy;
  const allInputs = fitInputs(train, {
    ...(incomeFloor !== null ? { total_income: [incomeFloor] } : {}),
    ...(protectedAge !== null ? { age: [protectedAge] } : {}),
  });
  const incomeIndex = allInputs.findIndex((i) => i.feature === 'total_income');
  const incomeInput = allInputs[incomeIndex]!;
  const ageInput = allInputs.find((i) => i.feature === 'age')!;
  const cartOptions: CartOptions = {
    maxDepth,
    minSamplesLeaf,
    classWeights: weights,
    // Approval must not fall along an increasing feature (any split), nor from the age before the
    // protected one to any age above it (splits whose left side holds that age).
    increasingFrom: allInputs.map((input) =>
      policy.increasing.includes(input.feature)
        ? 0
        : input === ageInput && protectedAge !== null
          ? quantizeValue(input.quantizer, protectedAge - 1)
          : undefined,
    ),
    ...(incomeFloor !== null ? { floor: { feature: incomeIndex, below: quantizeValue(incomeInput.quantizer, incomeFloor) } } : {}),
  };
  const codeRows = train.map((r) => quantizeParsed(allInputs, r.features));
  const nodes = trainCart(
    {
      codes: allInputs.map((input) => Uint8Array.from(codeRows, (c) => c[input.name]!)),
      levels: allInputs.map((input) => quantizerLevels(input.quantizer)),
      labels: Uint8Array.from(train, (r) => r.approved),
    },
    allInputs.map((i) => i.name),
    cartOptions,
  );
  const manifest = manifestBody(options.name ?? DEFAULT_MODEL_NAME, allInputs, nodes, options.collect);
  const inputs = manifest.inputs;

  const evalRows = heldOut.length > 0 ? heldOut : train;
  const scores = leafScores(inputs, { nodes }, train);
  const auc = round4(
    rocAuc(
      evalRows.map((r) => r.approved),
      evalRows.map((r) => scores.get(leafIndex({ nodes }, quantizeParsed(inputs, r.features)))!),
    ),
  );
  const metrics: Metrics = { ...scoreModel(inputs, { nodes }, evalRows), auc, approvalRate: approvalRate(rows) };

  const training: TrainingInfo = {
    source: options.source?.kind ?? 'csv',
    seed: options.source?.kind === 'synthetic' ? options.source.seed : null,
    rows: rows.length,
    heldOutRows: heldOut.length,
    options: { maxDepth, minSamplesLeaf, classWeights: weights },
    metrics,
    policy: { increasing: [...policy.increasing], protectedAge, incomeFloor },
  };
  const model = await sealModel(manifest, treeBody(nodes, training, options.salt));
  return { model, metrics };
}

/** The committed demo model's recipe. Changing it changes `model/artifacts/`. */
export const DEMO_RECIPE = {
  rows: 20_000,
  seed: 20231206,
  maxDepth: 10,
  minSamplesLeaf: 10,
  /**
   * Bootstraps a run may cost (decision, explanation and the sanitizing of public-key inputs):
   * about 25 ms each on one core, so a run stays under a second on the evaluator's two.
   */
  pbsBudget: 64,
  /**
   * The bank's policy (model/README.md, "Policy"): approval never falls as income, account age,
   * years employed or employment rise; no one aged 62 or over is treated worse than at 61; below
   * a yearly income of 8,000 every applicant is denied (about a third of the seed data's lowest
   * income, and below any full-time minimum wage in the seed's currency units).
   */
  policy: { ...DEFAULT_POLICY, incomeFloor: 8_000 } satisfies ModelPolicy,
  /**
   * Fixed so `npm run train` writes the same bytes every run. It protects nothing: the demo's
   * tree is published with the code. A bank's own model gets a random salt.
   */
  salt: '0'.repeat(64),
} as const;

/** Trains the demo model from synthetic data (what `npm run train` writes). */
export function trainDemoModel(): Promise<{ model: Model; metrics: Metrics }> {
  const rows = generateApplications(DEMO_RECIPE.rows, DEMO_RECIPE.seed);
  return trainModel(rows, {
    name: 'BlindScore demo credit-card approval (synthetic data)',
    maxDepth: DEMO_RECIPE.maxDepth,
    minSamplesLeaf: DEMO_RECIPE.minSamplesLeaf,
    classWeights: 'balanced',
    source: { kind: 'synthetic', seed: DEMO_RECIPE.seed },
    salt: DEMO_RECIPE.salt,
    policy: DEMO_RECIPE.policy,
  });
}
