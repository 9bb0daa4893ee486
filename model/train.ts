/**
 * The training pipeline: labeled applications → quantizers → CART → sealed manifest and tree,
 * with held-out accuracy, precision and recall (approval is the positive class).
 *
 * Deterministic: the same rows and options give the same bytes. `npm run train` runs
 * {@link trainDemoModel} and writes `model/artifacts/`.
 *
 * Browser-safe (no I/O here; the CLI is `train-cli.ts`).
 */
import { ModelError } from './errors.ts';
import { FEATURE_NAMES, FEATURE_TEXTS, YEARS_EMPLOYED_BINS } from './features.ts';
import { EXPLANATION_FEATURE, fitInputs } from './fit-quantizers.ts';
import { trainCart, type CartOptions } from './cart.ts';
import { predictCodes } from './infer.ts';
import {
  FORMAT_VERSION,
  MANIFEST_KIND,
  PARAMETER_SETS,
  TREE_KIND,
  describeFeature,
  randomSalt,
  sealModel,
  type ManifestBody,
  type Model,
  type TrainingInfo,
  type TreeBody,
} from './manifest.ts';
import { quantizeParsed, quantizeValue, quantizerLevels, type EncryptedInput } from './quantize.ts';
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
}

export interface Metrics {
  accuracy: number;
  precision: number;
  recall: number;
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

/** The public manifest of a model over `inputs` (one per feature), as training and import write it. */
export function manifestBody(name: string, inputs: EncryptedInput[]): ManifestBody {
  const exInput = inputs.find((i) => i.feature === EXPLANATION_FEATURE)!;
  return {
    kind: MANIFEST_KIND,
    formatVersion: FORMAT_VERSION,
    name,
    parameterSet: { id: 'tuniform', tfheName: PARAMETER_SETS.tuniform, messageModulus: 4, carryModulus: 4 },
    features: FEATURE_NAMES.map(describeFeature),
    inputs,
    explanation: {
      input: exInput.name,
      // Bin 0 is left out: its bit could only be 1 for an applicant in bin 0 who is already approved.
      bins: YEARS_EMPLOYED_BINS.slice(1).map((label) => ({ code: quantizeValue(exInput.quantizer, label), label })),
    },
    labels: FEATURE_TEXTS,
  };
}

/** The private tree file's body: nodes, the training or import record, and a salt. */
export function treeBody(nodes: TreeBody['nodes'], training: TrainingInfo, salt: string = randomSalt()): TreeBody {
  return { kind: TREE_KIND, formatVersion: FORMAT_VERSION, salt, training, nodes };
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

  const inputs = fitInputs(train);
  const cartOptions: CartOptions = { maxDepth, minSamplesLeaf, classWeights: weights };
  const codeRows = train.map((r) => quantizeParsed(inputs, r.features));
  const nodes = trainCart(
    {
      codes: inputs.map((input) => Uint8Array.from(codeRows, (c) => c[input.name]!)),
      levels: inputs.map((input) => quantizerLevels(input.quantizer)),
      labels: Uint8Array.from(train, (r) => r.approved),
    },
    inputs.map((i) => i.name),
    cartOptions,
  );

  const evalRows = heldOut.length > 0 ? heldOut : train;
  const metrics: Metrics = { ...scoreModel(inputs, { nodes }, evalRows), approvalRate: approvalRate(rows) };

  const training: TrainingInfo = {
    source: options.source?.kind ?? 'csv',
    seed: options.source?.kind === 'synthetic' ? options.source.seed : null,
    rows: rows.length,
    heldOutRows: heldOut.length,
    options: { maxDepth, minSamplesLeaf, classWeights: weights },
    metrics,
  };
  const manifest = manifestBody(options.name ?? DEFAULT_MODEL_NAME, inputs);
  const model = await sealModel(manifest, treeBody(nodes, training, options.salt));
  return { model, metrics };
}

/** The committed demo model's recipe. Changing it changes `model/artifacts/`. */
export const DEMO_RECIPE = {
  rows: 20_000,
  seed: 20231206,
  maxDepth: 5,
  minSamplesLeaf: 40,
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
  });
}
