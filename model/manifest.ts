/**
 * The model artifact: a public manifest and a private tree, versioned together.
 *
 * - The **manifest** (`model/artifacts/manifest.json`) is what every party may read: the feature
 *   schema and which party owns each feature, the encrypted inputs and their quantizers, the FHE
 *   parameter set, the form's labels and the explanation bins. Nothing about how the model was
 *   trained or how well it does: a bank's approval rate and model performance are confidential.
 * - The **tree** (`model/artifacts/tree.json`) is the bank's decision tree over quantized codes,
 *   the training or import record (rows, options, metrics, approval rate, PMML digest) and a
 *   random salt. Only the evaluator loads it.
 *
 * Both carry the same `modelVersion`: the SHA-256 (hex) of the canonical JSON of
 * `{ manifest, tree }` with their `modelVersion` fields left out. {@link loadModel} recomputes
 * it, so a tree from another training run, or a file edited by hand, is refused. The salt makes
 * the public version useless for confirming a guessed tree or guessed figures.
 *
 * Browser-safe: hashing uses WebCrypto (`crypto.subtle`), present in browsers,
 * Workers and Node ≥ 20.
 */
import { z } from 'zod';
import { ModelVersion, Party } from '../protocol/ciphertexts.ts';
import { ModelError, formatIssues } from './errors.ts';
import {
  EDUCATION_TYPES,
  FAMILY_STATUSES,
  FEATURE_NAMES,
  FEATURE_SPECS,
  HOUSING_TYPES,
  INCOME_TYPES,
  LOCALES,
  OCCUPATION_TYPES,
  YEARS_EMPLOYED_BINS,
  type FeatureName,
  type FeatureSpec,
} from './features.ts';
import { EncryptedInput, inputProblems, quantizerLevels, quantizeValue } from './quantize.ts';

export const MANIFEST_KIND = 'blindscore.manifest';
export const TREE_KIND = 'blindscore.tree';
export const FORMAT_VERSION = 1;
/** Bounds that keep validation and compilation cheap on hostile files. */
export const MAX_TREE_NODES = 1023;
export const MAX_TREE_DEPTH = 12;

// ---------------------------------------------------------------------------------------------
// Schemas

const FeatureNameSchema = z.enum(FEATURE_NAMES as [FeatureName, ...FeatureName[]]);

/** One feature of the schema, as published (mirrors `FEATURE_SPECS`). */
export const FeatureDescriptor = z.discriminatedUnion('kind', [
  z.object({ name: FeatureNameSchema, party: Party, kind: z.literal('boolean') }).strict(),
  z
    .object({
      name: FeatureNameSchema,
      party: Party,
      kind: z.enum(['integer', 'number']),
      min: z.number().finite(),
      max: z.number().finite(),
      /** An amount of money in this ISO 4217 currency (`GBP`): the bank's schema says what its amounts are in. */
      currency: z
        .string()
        .regex(/^[A-Z]{3}$/)
        .optional(),
    })
    .strict(),
  z
    .object({
      name: FeatureNameSchema,
      party: Party,
      kind: z.literal('category'),
      values: z.array(z.string().min(1).max(64)).min(1).max(64),
    })
    .strict(),
]);
export type FeatureDescriptor = z.infer<typeof FeatureDescriptor>;

/** The descriptor of a feature, as the current schema defines it. */
export function describeFeature(name: FeatureName): FeatureDescriptor {
  const spec: FeatureSpec = FEATURE_SPECS[name];
  switch (spec.kind) {
    case 'boolean':
      return { name, party: spec.party, kind: 'boolean' };
    case 'category':
      return { name, party: spec.party, kind: 'category', values: [...spec.values] };
    default:
      return { name, party: spec.party, kind: spec.kind, min: spec.min, max: spec.max };
  }
}

const Text = z.string().min(1).max(300);
const FieldText = z.object({ label: Text, help: Text }).strict();
const optionTexts = <T extends readonly [string, ...string[]]>(values: T) => z.record(z.enum(values), Text);

/** The form's texts for one locale (mirrors `FeatureTexts`). */
export const FeatureTextsSchema = z
  .object({
    parties: z.record(Party, Text),
    fields: z.record(FeatureNameSchema, FieldText),
    options: z
      .object({
        income_type: optionTexts(INCOME_TYPES),
        education_type: optionTexts(EDUCATION_TYPES),
        family_status: optionTexts(FAMILY_STATUSES),
        occupation_type: optionTexts(OCCUPATION_TYPES),
        housing_type: optionTexts(HOUSING_TYPES),
        years_employed: optionTexts(YEARS_EMPLOYED_BINS),
      })
      .strict(),
    yes: Text,
    no: Text,
    outcomes: z.object({ approved: Text, denied: Text }).strict(),
  })
  .strict();

/** The FHE parameter sets a model may name (2-bit message, 2-bit carry, KS-PBS, p_fail ≤ 2^-128). */
export const PARAMETER_SETS = {
  tuniform: 'PARAM_MESSAGE_2_CARRY_2_KS_PBS_TUNIFORM_2M128',
  gaussian: 'V1_1_PARAM_MESSAGE_2_CARRY_2_KS_PBS_GAUSSIAN_2M128',
} as const;
export type ParameterSetId = keyof typeof PARAMETER_SETS;

export const ParameterSet = z
  .object({
    id: z.enum(Object.keys(PARAMETER_SETS) as [ParameterSetId, ...ParameterSetId[]]),
    /** The `ShortintParametersName` to pass to tfhe / node-tfhe. */
    tfheName: z.string(),
    messageModulus: z.literal(4),
    carryModulus: z.literal(4),
  })
  .strict()
  .refine((p) => PARAMETER_SETS[p.id] === p.tfheName, 'tfheName does not match id');
export type ParameterSet = z.infer<typeof ParameterSet>;

const Ratio = z.number().min(0).max(1);

const Metrics = z
  .object({
    accuracy: Ratio,
    precision: Ratio,
    recall: Ratio,
    /** ROC AUC, ranking applicants by their leaf's training approval share (trained models). */
    auc: Ratio.optional(),
    approvalRate: Ratio,
  })
  .strict();

/** The bank's policy the tree was trained under (`model/constraints.ts`), and `--check` verifies. */
export const PolicySchema = z
  .object({
    increasing: z.array(z.enum(FEATURE_NAMES as [FeatureName, ...FeatureName[]])).max(FEATURE_NAMES.length),
    protectedAge: z.int().min(19).max(100).nullable(),
    incomeFloor: z.number().finite().min(0).nullable(),
  })
  .strict();

/** How the model was trained, and how well it did on held-out rows. */
export const TrainedInfo = z
  .object({
    source: z.enum(['synthetic', 'csv']),
    seed: z.int().nullable(),
    rows: z.int().min(1),
    heldOutRows: z.int().min(0),
    options: z
      .object({
        maxDepth: z.int().min(1).max(MAX_TREE_DEPTH),
        minSamplesLeaf: z.int().min(1),
        classWeights: z.object({ denied: z.number().positive(), approved: z.number().positive() }).strict(),
      })
      .strict(),
    metrics: Metrics,
    policy: PolicySchema.optional(),
  })
  .strict();

/**
 * Where an imported tree came from (`import-pmml.ts`), and how well it did on the rows it was
 * checked against (`rows` 0 and `metrics` null when none were given).
 */
export const ImportedInfo = z
  .object({
    source: z.literal('pmml'),
    /** SHA-256 (hex) of the PMML document's bytes. */
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    /** `Header/Application` of the document, e.g. `JPMML-SkLearn 1.8.1`. */
    producer: z.string().max(200).nullable(),
    modelName: z.string().max(200).nullable(),
    /** The tree's score that means "approve". */
    approveScore: z.string().max(200),
    rows: z.int().min(0),
    metrics: Metrics.nullable(),
  })
  .strict();

/** How the model came to be: trained here, or imported. */
export const TrainingInfo = z.discriminatedUnion('source', [TrainedInfo, ImportedInfo]);
export type TrainedInfo = z.infer<typeof TrainedInfo>;
export type ImportedInfo = z.infer<typeof ImportedInfo>;
export type TrainingInfo = z.infer<typeof TrainingInfo>;

/**
 * The explanation: for each candidate bin of one input (years employed), the run returns an
 * encrypted bit "approved with this bin, and the bin is at least the applicant's own".
 */
export const ExplanationSpec = z
  .object({
    input: z.string(),
    bins: z
      .array(z.object({ code: z.int().min(0).max(15), label: z.string().min(1).max(16) }).strict())
      .min(1)
      .max(16),
    /**
     * Inputs held at a code while the bins vary, whatever the applicant's own: `employed` = 1, so
     * a bit means "approved when employed for this long", true for employed and not-employed
     * applicants alike.
     */
    assume: z
      .array(z.object({ input: z.string(), code: z.int().min(0).max(15) }).strict())
      .max(4)
      .optional(),
  })
  .strict();
export type ExplanationSpec = z.infer<typeof ExplanationSpec>;

const ManifestBody = z
  .object({
    kind: z.literal(MANIFEST_KIND),
    formatVersion: z.literal(FORMAT_VERSION),
    name: z.string().min(1).max(200),
    parameterSet: ParameterSet,
    features: z.array(FeatureDescriptor).max(64),
    inputs: z.array(EncryptedInput).min(1).max(64),
    explanation: ExplanationSpec,
    /**
     * Inputs the bank chose to collect although the model does not read them (data minimisation:
     * every other input is read by the model; absent when there are none).
     */
    unreadInputs: z.array(z.string()).max(64).optional(),
    labels: z.record(z.enum(LOCALES), FeatureTextsSchema),
  })
  .strict();

/** The public manifest. */
export const Manifest = ManifestBody.extend({ modelVersion: ModelVersion }).strict();
export type Manifest = z.infer<typeof Manifest>;
export type ManifestBody = z.infer<typeof ManifestBody>;

/** A split of a tree with at most `maxNodes` nodes: left when `code(input) ≤ threshold`. */
function splitNode(maxNodes: number) {
  const child = z
    .int()
    .min(1)
    .max(maxNodes - 1);
  return z.object({ type: z.literal('split'), input: z.string(), threshold: z.int().min(0).max(14), left: child, right: child }).strict();
}

/** A node of the private tree. Splits go left when `code(input) ≤ threshold`. */
export const TreeNode = z.discriminatedUnion('type', [
  splitNode(MAX_TREE_NODES),
  z
    .object({
      type: z.literal('leaf'),
      /** 1 = approve, 0 = deny. */
      decision: z.union([z.literal(0), z.literal(1)]),
      /** Training rows that reached the leaf (informative only). */
      samples: z.int().min(0),
    })
    .strict(),
]);
export type TreeNode = z.infer<typeof TreeNode>;

/** 256 random bits (hex) hashed into the model version; see {@link randomSalt}. */
export const Salt = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 hex digits');

/**
 * A fresh salt. Without one, the public `modelVersion` (a hash over the private tree and its
 * training record) would let anyone confirm a guessed tree or guessed figures offline; with
 * 256 unknown bits in the hash it reveals only whether two manifests belong to one model.
 */
export function randomSalt(): string {
  return toHex(crypto.getRandomValues(new Uint8Array(32)));
}

const TreeBody = z
  .object({
    kind: z.literal(TREE_KIND),
    formatVersion: z.literal(FORMAT_VERSION),
    /** Keeps the public version from confirming guesses about this file. */
    salt: Salt,
    /** How the model came to be and how well it did: confidential to the bank, never served. */
    training: TrainingInfo,
    /** Flat node list; node 0 is the root. */
    nodes: z.array(TreeNode).min(1).max(MAX_TREE_NODES),
  })
  .strict();

/** The private tree file. */
export const TreeFile = TreeBody.extend({ modelVersion: ModelVersion }).strict();
export type TreeFile = z.infer<typeof TreeFile>;
export type TreeBody = z.infer<typeof TreeBody>;

// ---------------------------------------------------------------------------------------------
// Tree ensembles (imported from ONNX, or boosted here)

export const ENSEMBLE_KIND = 'blindscore.ensemble';
/** Bounds that keep validation and compilation cheap on hostile files. */
export const MAX_ENSEMBLE_TREES = 200;
export const MAX_ENSEMBLE_TREE_NODES = 255;
export const MAX_ENSEMBLE_DEPTH = 8;
/** Leaf values are small integers: the circuit adds them on 2-bit blocks. */
export const MAX_LEAF_VALUE = 4096;

/** A node of an ensemble tree: splits as in {@link TreeNode}, leaves hold an integer score. */
export const EnsembleNode = z.discriminatedUnion('type', [
  splitNode(MAX_ENSEMBLE_TREE_NODES),
  z.object({ type: z.literal('leaf'), value: z.int().min(-MAX_LEAF_VALUE).max(MAX_LEAF_VALUE) }).strict(),
]);
export type EnsembleNode = z.infer<typeof EnsembleNode>;

/** Where an imported ensemble came from (`import-onnx.ts`), and how it maps to integer scores. */
export const OnnxImportedInfo = z
  .object({
    source: z.literal('onnx'),
    /** SHA-256 (hex) of the ONNX file's bytes. */
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    producer: z.string().max(200).nullable(),
    op: z.enum(['TreeEnsembleClassifier', 'TreeEnsembleRegressor']),
    postTransform: z.enum(['NONE', 'LOGISTIC']),
    /** Approve when the model's output (probability of the approving class, or the score) ≥ this. */
    threshold: z.number().finite(),
    rows: z.int().min(0),
    metrics: Metrics.nullable(),
  })
  .strict();

/** An ensemble boosted here (`boost.ts`). */
export const BoostedInfo = z
  .object({
    source: z.literal('boosted'),
    seed: z.int().nullable(),
    rows: z.int().min(1),
    heldOutRows: z.int().min(0),
    options: z
      .object({
        trees: z.int().min(1).max(MAX_ENSEMBLE_TREES),
        maxDepth: z.int().min(1).max(MAX_ENSEMBLE_DEPTH),
        learningRate: z.number().positive().max(1),
        minSamplesLeaf: z.int().min(1),
      })
      .strict(),
    metrics: Metrics,
    policy: PolicySchema.optional(),
  })
  .strict();
export type OnnxImportedInfo = z.infer<typeof OnnxImportedInfo>;
export type BoostedInfo = z.infer<typeof BoostedInfo>;

const EnsembleBody = z
  .object({
    kind: z.literal(ENSEMBLE_KIND),
    formatVersion: z.literal(FORMAT_VERSION),
    salt: Salt,
    training: z.discriminatedUnion('source', [OnnxImportedInfo, BoostedInfo]),
    /**
     * The model's real-valued score is ≈ `Σ leaf values / scale`; the decision is exactly
     * `Σ leaf values ≥ threshold` (integers), what the circuit computes.
     */
    scale: z.number().positive().finite(),
    threshold: z
      .int()
      .min(-MAX_ENSEMBLE_TREES * MAX_LEAF_VALUE - 1)
      .max(MAX_ENSEMBLE_TREES * MAX_LEAF_VALUE + 1),
    trees: z
      .array(z.object({ nodes: z.array(EnsembleNode).min(1).max(MAX_ENSEMBLE_TREE_NODES) }).strict())
      .min(1)
      .max(MAX_ENSEMBLE_TREES),
  })
  .strict();

/** The private ensemble file (`ensemble.json`), the counterpart of `tree.json`. */
export const EnsembleFile = EnsembleBody.extend({ modelVersion: ModelVersion }).strict();
export type EnsembleFile = z.infer<typeof EnsembleFile>;
export type EnsembleBody = z.infer<typeof EnsembleBody>;

/** A loaded, checked model: what the evaluator compiles. */
export interface Model {
  manifest: Manifest;
  tree: TreeFile;
}

/** A loaded, checked tree ensemble. */
export interface EnsembleModel {
  manifest: Manifest;
  ensemble: EnsembleFile;
}

/** Either kind of model the evaluator runs. */
export type AnyModel = Model | EnsembleModel;

export const isEnsembleModel = (m: AnyModel): m is EnsembleModel => 'ensemble' in m;

// ---------------------------------------------------------------------------------------------
// Consistency checks beyond the schemas

/** Checks a parsed manifest against the feature schema; returns problems as text. */
export function manifestProblems(m: ManifestBody): string[] {
  const problems: string[] = [];
  const expected = FEATURE_NAMES.map(describeFeature);
  // An amount's currency is the bank's to state: the schema's shape is the rest.
  const shapes = m.features.map((f) => ('currency' in f ? { ...f, currency: undefined } : f));
  if (JSON.stringify(shapes) !== JSON.stringify(expected)) {
    problems.push('features do not match this version of the feature schema');
  }
  const names = new Set<string>();
  for (const input of m.inputs) {
    if (names.has(input.name)) problems.push(`input ${input.name} is listed twice`);
    names.add(input.name);
    problems.push(...inputProblems(input));
  }
  // Data minimisation: a feature the model does not read has no input, and nothing is asked for it.
  for (const name of m.unreadInputs ?? []) if (!names.has(name)) problems.push(`unread input ${name} is not an input`);

  const ex = m.explanation;
  const exInput = m.inputs.find((i) => i.name === ex.input);
  if (!exInput) {
    problems.push(`explanation input ${ex.input} is not an input`);
  } else {
    const levels = quantizerLevels(exInput.quantizer);
    ex.bins.forEach((bin, i) => {
      if (i > 0 && bin.code <= ex.bins[i - 1]!.code) problems.push('explanation bins must have increasing codes');
      if (bin.code >= levels) problems.push(`explanation bin ${bin.label} has code ${bin.code} ≥ ${levels} levels`);
      if (exInput.quantizer.kind === 'category') {
        try {
          if (quantizeValue(exInput.quantizer, bin.label) !== bin.code) {
            problems.push(`explanation bin ${bin.label} does not quantize to code ${bin.code}`);
          }
        } catch {
          problems.push(`explanation bin ${bin.label} is not a value of ${exInput.feature}`);
        }
      }
    });
  }
  for (const a of ex.assume ?? []) {
    const input = m.inputs.find((i) => i.name === a.input);
    if (!input) problems.push(`explanation assumes input ${a.input}, which is not an input`);
    else if (a.input === ex.input) problems.push('the explanation cannot assume its own input');
    else if (a.code >= quantizerLevels(input.quantizer)) problems.push(`explanation assumes ${a.input} = ${a.code}, beyond its levels`);
  }
  return problems;
}

/** Checks the tree's shape against the manifest; returns problems as text. */
export function treeProblems(
  tree: { readonly nodes: readonly (TreeNode | EnsembleNode)[] },
  manifest: ManifestBody,
  maxDepth: number = MAX_TREE_DEPTH,
): string[] {
  const problems: string[] = [];
  const levels = new Map(manifest.inputs.map((i) => [i.name, quantizerLevels(i.quantizer)]));
  const parents = new Array<number>(tree.nodes.length).fill(0);
  tree.nodes.forEach((node, i) => {
    if (node.type !== 'split') return;
    const lv = levels.get(node.input);
    if (lv === undefined) problems.push(`node ${i}: unknown input ${node.input}`);
    else if (node.threshold >= lv - 1) problems.push(`node ${i}: threshold ${node.threshold} never splits ${lv} levels`);
    for (const child of [node.left, node.right]) {
      if (child >= tree.nodes.length) problems.push(`node ${i}: child ${child} does not exist`);
      else parents[child]!++;
    }
  });
  if (parents[0] !== 0) problems.push('node 0 (the root) must not be a child');
  parents.forEach((count, i) => {
    if (i > 0 && count !== 1) problems.push(`node ${i} has ${count} parents; every node but the root needs exactly one`);
  });
  if (problems.length > 0) return problems;
  // One parent each and a parentless root: every node is reachable iff there is no cycle.
  let seen = 0;
  const stack: [number, number][] = [[0, 0]];
  while (stack.length > 0) {
    const [i, depth] = stack.pop()!;
    seen++;
    if (depth > maxDepth) return [`tree is deeper than ${maxDepth}`];
    const node = tree.nodes[i]!;
    if (node.type === 'split') stack.push([node.right, depth + 1], [node.left, depth + 1]);
  }
  if (seen !== tree.nodes.length) problems.push('some nodes are unreachable from the root (a cycle)');
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Version hash

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** RFC 8785-style canonical JSON for plain data (sorted keys, no whitespace). */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError('non-finite number');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** SHA-256 (hex) of a text's UTF-8 bytes. */
export async function sha256Hex(text: string): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text))));
}

/** Drops `modelVersion` (a sealed file may be passed where a body is expected). */
function withoutVersion<T extends object>(o: T): Omit<T, 'modelVersion'> {
  const { modelVersion: _ignored, ...rest } = o as T & { modelVersion?: unknown };
  return rest;
}

/** The model version of a manifest and tree: SHA-256 of their canonical JSON, versions left out. */
export async function computeModelVersion(manifest: ManifestBody, tree: TreeBody | EnsembleBody): Promise<string> {
  return sha256Hex(canonicalJson({ manifest: withoutVersion(manifest), tree: withoutVersion(tree) }));
}

/** Stamps a freshly trained manifest and tree with their common version. */
export async function sealModel(manifest: ManifestBody, tree: TreeBody): Promise<Model> {
  const problems = [...manifestProblems(manifest), ...treeProblems(tree, manifest)];
  if (problems.length > 0) throw new ModelError('invalid_training', `model is inconsistent: ${problems.join('; ')}`);
  const modelVersion = await computeModelVersion(manifest, tree);
  return {
    manifest: Manifest.parse({ ...withoutVersion(manifest), modelVersion }),
    tree: TreeFile.parse({ ...withoutVersion(tree), modelVersion }),
  };
}

/** Checks every tree of an ensemble against the manifest; returns problems as text. */
export function ensembleProblems(ensemble: EnsembleBody, manifest: ManifestBody): string[] {
  return ensemble.trees.flatMap((t, i) => treeProblems(t, manifest, MAX_ENSEMBLE_DEPTH).map((p) => `tree ${i}: ${p}`));
}

/** Stamps a freshly built manifest and ensemble with their common version. */
export async function sealEnsemble(manifest: ManifestBody, ensemble: EnsembleBody): Promise<EnsembleModel> {
  const problems = [...manifestProblems(manifest), ...ensembleProblems(ensemble, manifest)];
  if (problems.length > 0) throw new ModelError('invalid_training', `model is inconsistent: ${problems.join('; ')}`);
  const modelVersion = await computeModelVersion(manifest, ensemble);
  return {
    manifest: Manifest.parse({ ...withoutVersion(manifest), modelVersion }),
    ensemble: EnsembleFile.parse({ ...withoutVersion(ensemble), modelVersion }),
  };
}

/** The bytes written for a model file: 2-space JSON and a final newline. */
export function serializeModelFile(file: Manifest | TreeFile | EnsembleFile): string {
  return `${JSON.stringify(file, null, 2)}\n`;
}

// ---------------------------------------------------------------------------------------------
// Loading

function parseJsonText(input: unknown, what: string): unknown {
  if (typeof input !== 'string') return input;
  try {
    return JSON.parse(input);
  } catch (e) {
    throw new ModelError('invalid_json', `${what} is not valid JSON: ${(e as Error).message}`);
  }
}

/**
 * Parses and checks a public manifest (JSON text or parsed value). Does not verify the version
 * hash, which needs the private tree; the widget and gateway use this.
 * @throws ModelError `invalid_json` | `invalid_manifest`.
 */
export function parseManifest(input: unknown): Manifest {
  const parsed = Manifest.safeParse(parseJsonText(input, 'manifest'));
  if (!parsed.success) {
    throw new ModelError('invalid_manifest', `manifest: ${formatIssues(parsed.error.issues)}`, {
      paths: parsed.error.issues.map((i) => i.path.join('.')),
    });
  }
  const problems = manifestProblems(parsed.data);
  if (problems.length > 0) throw new ModelError('invalid_manifest', `manifest: ${problems.join('; ')}`, { problems });
  return parsed.data;
}

/**
 * Loads the model for the evaluator: parses and checks both files, checks they share one
 * version, and recomputes that version from their content.
 * @param manifestJson manifest JSON text or parsed value
 * @param treeJson tree JSON text or parsed value
 * @throws ModelError `invalid_json` | `invalid_manifest` | `invalid_tree` | `version_mismatch`.
 * @example
 * const model = await loadModel(readFileSync('model/artifacts/manifest.json', 'utf8'),
 *                               readFileSync('model/artifacts/tree.json', 'utf8'));
 */
export async function loadModel(manifestJson: unknown, treeJson: unknown): Promise<Model> {
  const manifest = parseManifest(manifestJson);
  const parsed = TreeFile.safeParse(parseJsonText(treeJson, 'tree'));
  if (!parsed.success) {
    throw new ModelError('invalid_tree', `tree: ${formatIssues(parsed.error.issues)}`, {
      paths: parsed.error.issues.map((i) => i.path.join('.')),
    });
  }
  const tree = parsed.data;
  if (tree.modelVersion !== manifest.modelVersion) {
    throw new ModelError('version_mismatch', `tree is for model ${tree.modelVersion} but the manifest is for ${manifest.modelVersion}`, {
      manifest: manifest.modelVersion,
      tree: tree.modelVersion,
    });
  }
  const problems = treeProblems(tree, manifest);
  if (problems.length > 0) throw new ModelError('invalid_tree', `tree: ${problems.join('; ')}`, { problems });
  const actual = await computeModelVersion(manifest, tree);
  if (actual !== manifest.modelVersion) {
    throw new ModelError(
      'version_mismatch',
      `manifest and tree content hash to ${actual}, not their declared version ${manifest.modelVersion}: a file was changed after training`,
      { declared: manifest.modelVersion, actual },
    );
  }
  return { manifest, tree };
}

/**
 * Loads either kind of model: the private file's `kind` says whether it is a tree
 * (`tree.json`, as {@link loadModel}) or an ensemble (`ensemble.json`).
 * @throws ModelError as {@link loadModel}.
 */
export async function loadAnyModel(manifestJson: unknown, privateJson: unknown): Promise<AnyModel> {
  const value = parseJsonText(privateJson, 'model file');
  const kind = typeof value === 'object' && value !== null ? (value as { kind?: unknown }).kind : undefined;
  if (kind !== ENSEMBLE_KIND) return loadModel(manifestJson, value);
  const manifest = parseManifest(manifestJson);
  const parsed = EnsembleFile.safeParse(value);
  if (!parsed.success) {
    throw new ModelError('invalid_tree', `ensemble: ${formatIssues(parsed.error.issues)}`, {
      paths: parsed.error.issues.map((i) => i.path.join('.')),
    });
  }
  const ensemble = parsed.data;
  if (ensemble.modelVersion !== manifest.modelVersion) {
    throw new ModelError(
      'version_mismatch',
      `ensemble is for model ${ensemble.modelVersion} but the manifest is for ${manifest.modelVersion}`,
      {
        manifest: manifest.modelVersion,
        tree: ensemble.modelVersion,
      },
    );
  }
  const problems = ensembleProblems(ensemble, manifest);
  if (problems.length > 0) throw new ModelError('invalid_tree', `ensemble: ${problems.join('; ')}`, { problems });
  const actual = await computeModelVersion(manifest, ensemble);
  if (actual !== manifest.modelVersion) {
    throw new ModelError(
      'version_mismatch',
      `manifest and ensemble content hash to ${actual}, not their declared version ${manifest.modelVersion}: a file was changed after training`,
      { declared: manifest.modelVersion, actual },
    );
  }
  return { manifest, ensemble };
}
