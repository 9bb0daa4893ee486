/**
 * `npm run train` — trains the demo model and writes `model/artifacts/{manifest,tree}.json`.
 *
 *   npm run train                          # the committed demo model (deterministic)
 *   npm run train -- --check               # exit 1 unless the committed files satisfy the policy and are up to date
 *   npm run train -- --eval-csv seed.csv   # also report the model's figures on a labeled CSV
 *   npm run train -- --csv my-data.csv --out my-model [--max-depth 5] [--min-leaf 40]
 *                    [--income-floor 8000] [--protected-age 62] [--increasing total_income,employed]
 *                    [--collect age,education_type]   # policy settings: a number, a list, or none
 *   npm run train -- --export-csv demo.csv # write the synthetic training data as CSV
 *   npm run train -- --import-pmml bank-tree.pmml --out my-model [--field-map income=total_income]
 *                    [--approve-score approved] [--name "…"] [--csv data.csv]   # bring your own tree
 *   npm run train -- --import-onnx bank.onnx --out my-model [--field-map '["total_income","age"]']
 *                    [--threshold 0.5] [--leaf-range 63] [--name "…"]          # bring your own ensemble
 *   npm run train -- --boost --out my-ensemble [--trees 20] [--max-depth 4] [--csv data.csv]
 *                    [--export-onnx model.onnx] [--convention xgboost]          # a boosted ensemble
 *   npm run train -- --score my-model --input applicants.csv [--output decisions.csv]
 *
 * Prints the held-out accuracy, precision, recall and AUC (for an imported tree: on `--csv`, if
 * given), the constraint checks, the tree's size and the circuit's bootstrap counts, and writes
 * the private Markdown report `model-report.md` next to `tree.json`. A bank's model (`--csv`,
 * `--import-pmml`) gets a fresh random salt; `--check` reuses the salt of the tree file it
 * checks, so only a change of content counts as stale.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { compileCircuit, runBootstrapCount } from '../../evaluator/circuit/index.ts';
import { checkConstraints, DEFAULT_POLICY, type ModelPolicy } from './constraints.ts';
import { applicationsToCsv, decisionsToCsv, parseApplicationsCsv } from './csv.ts';
import { ModelError } from '../../model/errors.ts';
import { FEATURE_NAMES, type FeatureName } from '../../model/features.ts';
import { importPmmlModel } from './import-pmml.ts';
import { boostedColumns, boostedToOnnx, trainBoostedModel } from './boost.ts';
import { predictEnsembleCodes } from '../../model/ensemble.ts';
import { importOnnxModel, type ImportOnnxOptions } from './import-onnx.ts';
import { predictCodes, type Codes } from '../../model/infer.ts';
import {
  isEnsembleModel,
  loadAnyModel,
  loadModel,
  Salt,
  serializeModelFile,
  type AnyModel,
  type EnsembleModel,
  type Model,
} from '../../model/private-model.ts';
import { MAX_ONNX_BYTES } from './onnx.ts';
import { modelReport } from './report.ts';
import { generateApplications, type LabeledApplication } from './synthetic.ts';
import {
  DEMO_RECIPE,
  approvalRate,
  leafIndex,
  leafScores,
  rocAuc,
  scoreModel,
  splitRows,
  trainDemoModel,
  trainModel,
  type Metrics,
} from './train.ts';
import { quantizeParsed } from '../../model/quantize.ts';

export const ARTIFACTS_DIR = fileURLToPath(new URL('../../model/artifacts', import.meta.url));

function positiveInt(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new ModelError('invalid_training', `--${name} must be a positive integer`);
  return n;
}

/** `--field-map a=b` options → `{ a: 'b' }`. */
function fieldMap(pairs: readonly string[]): Record<string, string> {
  const map: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.lastIndexOf('=');
    if (eq < 1 || eq === pair.length - 1) {
      throw new ModelError('unknown_field', `--field-map ${pair}: expected <PMML field>=<feature>`);
    }
    map[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return map;
}

/** The quantized cleartext decision of either kind of model. */
function decideCodes(model: AnyModel, codes: Codes): 0 | 1 {
  return isEnsembleModel(model) ? predictEnsembleCodes(model.ensemble, codes) : predictCodes(model.tree, codes);
}

/** Trains, or imports with `--import-pmml`; the figures are held-out (trained) or on `--csv` (imported). */
async function build(
  values: Record<string, string | string[] | boolean | undefined>,
  salt: string | undefined,
): Promise<{
  model: Model;
  metrics: Metrics | null;
  rows: { used: number; heldOut: number | null };
  /** PMML field → feature, for an import. */
  fields?: Record<string, string>;
  /** The labeled rows trained on (training and held out), for the report. */
  data: readonly LabeledApplication[] | null;
}> {
  const csv = values['csv'] as string | undefined;
  const pmml = values['import-pmml'] as string | undefined;
  if (pmml !== undefined) {
    if (values['out'] === undefined) {
      throw new ModelError('invalid_training', '--import-pmml needs --out <dir> (model/artifacts/ holds the demo model)');
    }
    const evaluate = csv === undefined ? undefined : parseApplicationsCsv(readFileSync(csv, 'utf8'));
    const { model, metrics, fields } = await importPmmlModel(readFileSync(pmml, 'utf8'), {
      fieldMap: fieldMap((values['field-map'] as string[] | undefined) ?? []),
      approveScore: values['approve-score'] as string | undefined,
      name: values['name'] as string | undefined,
      evaluate,
      salt,
    });
    return {
      model,
      metrics,
      rows: { used: evaluate?.length ?? 0, heldOut: null },
      fields: Object.fromEntries(fields.map((f) => [f.field, f.feature])),
      data: null,
    };
  }
  const data =
    csv === undefined ? generateApplications(DEMO_RECIPE.rows, DEMO_RECIPE.seed) : parseApplicationsCsv(readFileSync(csv, 'utf8'));
  const { model, metrics } =
    csv === undefined
      ? await trainDemoModel()
      : await trainModel(data, {
          maxDepth: positiveInt(values['max-depth'] as string | undefined, 'max-depth') ?? DEMO_RECIPE.maxDepth,
          minSamplesLeaf: positiveInt(values['min-leaf'] as string | undefined, 'min-leaf') ?? DEMO_RECIPE.minSamplesLeaf,
          classWeights: 'balanced',
          source: { kind: 'csv' },
          salt,
          policy: cliPolicy(values),
          collect: featureList(values['collect'] as string | undefined),
        });
  const training = model.tree.training;
  return { model, metrics, rows: { used: training.rows, heldOut: training.source === 'pmml' ? null : training.heldOutRows }, data };
}

/** `--increasing`, `--income-floor` and `--protected-age` over the default policy (`none` turns a rule off). */
function cliPolicy(values: Record<string, string | string[] | boolean | undefined>): ModelPolicy {
  const setting = (name: string, fallback: number | null): number | null => {
    const v = values[name] as string | undefined;
    if (v === undefined) return fallback;
    if (v === 'none') return null;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new ModelError('invalid_training', `--${name} must be a number ≥ 0 or "none"`);
    return n;
  };
  const increasing = values['increasing'] as string | undefined;
  return {
    increasing: increasing === undefined ? DEFAULT_POLICY.increasing : increasing === 'none' ? [] : featureList(increasing),
    incomeFloor: setting('income-floor', DEFAULT_POLICY.incomeFloor),
    protectedAge: setting('protected-age', DEFAULT_POLICY.protectedAge),
  };
}

/** `--collect a,b`: features the bank collects although the tree may not read them (also `--increasing`). */
function featureList(text: string | undefined): FeatureName[] {
  if (text === undefined) return [];
  return text.split(',').map((name) => {
    const f = name.trim() as FeatureName;
    if (!FEATURE_NAMES.includes(f)) throw new ModelError('invalid_training', `${name} is not a feature (${FEATURE_NAMES.join(', ')})`);
    return f;
  });
}

/** The policy a model was trained under, or for an imported tree the one the options give. */
function policyOf(model: Model, values: Record<string, string | string[] | boolean | undefined>): ModelPolicy {
  const t = model.tree.training;
  return t.source !== 'pmml' && t.policy ? t.policy : cliPolicy(values);
}

/** Accuracy, precision, recall and AUC on labeled rows (scores: each leaf's share on the training rows). */
function evaluate(model: Model, rows: readonly LabeledApplication[], trainRows: readonly LabeledApplication[] | null): Metrics {
  const { inputs } = model.manifest;
  const scored = scoreModel(inputs, model.tree, rows);
  const scores = trainRows ? leafScores(inputs, model.tree, trainRows) : null;
  const auc = scores
    ? Math.round(
        10_000 *
          rocAuc(
            rows.map((r) => r.approved),
            rows.map((r) => scores.get(leafIndex(model.tree, quantizeParsed(inputs, r.features)))!),
          ),
      ) / 10_000
    : undefined;
  return { ...scored, ...(auc === undefined ? {} : { auc }), approvalRate: approvalRate(rows) };
}

/** The circuit's bootstrap counts, the bank's and bureau's public-key uploads sanitized (applicant mode). */
function circuitFigures(model: AnyModel) {
  const plan = compileCircuit(model);
  const publicKey = runBootstrapCount(plan, new Set(['bank', 'bureau'] as const));
  return { plan, pbsApplicantMode: publicKey };
}

/** The salt of an existing tree file, if it has a valid one (the demo model ignores it). */
function committedSalt(path: string): string | undefined {
  try {
    const parsed = Salt.safeParse((JSON.parse(readFileSync(path, 'utf8')) as { salt?: unknown }).salt);
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined; // missing or unreadable: the check reports the file stale
  }
}

function single(list: readonly string[] | undefined, name: string): string | undefined {
  if (list !== undefined && list.length > 1)
    throw new ModelError('unknown_field', `--${name} is given ${list.length} times; an ONNX import takes one JSON map`);
  return list?.[0];
}

/** `--field-map` for ONNX: inline JSON or a JSON file (array of features by column, or an object). */
function onnxFieldMap(text: string | undefined): ImportOnnxOptions['fieldMap'] {
  if (text === undefined) return undefined;
  const source = text.trim().startsWith('[') || text.trim().startsWith('{') ? text : readFileSync(text, 'utf8');
  const parsed = OnnxFieldMap.safeParse(
    (() => {
      try {
        return JSON.parse(source);
      } catch (e) {
        throw new ModelError('unknown_field', `--field-map is not JSON: ${(e as Error).message}`);
      }
    })(),
  );
  if (!parsed.success) {
    throw new ModelError(
      'unknown_field',
      '--field-map must be a JSON array of feature names (null for a column no tree reads) or an object {"<column>": "<feature>"}',
    );
  }
  return parsed.data;
}

const OnnxFieldMap = z.union([z.array(z.string().max(64).nullable()).max(1024), z.record(z.string().max(8), z.string().max(64))]);

function finiteNumber(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new ModelError('invalid_training', `--${name} must be a number`);
  return n;
}

/** Reads a model directory: `manifest.json` and `tree.json` or `ensemble.json`. */
async function readModelDir(dir: string): Promise<AnyModel> {
  const read = (name: string) => readFileSync(join(dir, name), 'utf8');
  const manifest = (() => {
    try {
      return read('manifest.json');
    } catch {
      throw new ModelError('invalid_json', `manifest.json cannot be read in ${dir}`);
    }
  })();
  for (const name of ['ensemble.json', 'tree.json']) {
    let text: string;
    try {
      text = read(name);
    } catch {
      continue;
    }
    return loadAnyModel(manifest, text);
  }
  throw new ModelError('invalid_json', `neither ensemble.json nor tree.json can be read in ${dir}`);
}

/** `--score`: the quantized cleartext model's decision for every applicant of a CSV. */
async function score(values: Record<string, string | string[] | boolean | undefined>): Promise<void> {
  const dir = values['score'] as string;
  const input = values['input'] as string | undefined;
  if (input === undefined)
    throw new ModelError('invalid_csv', '--score needs --input <applicants.csv> (seed column layout, Target optional)');
  const model = await readModelDir(resolve(dir));
  const rows = parseApplicationsCsv(readFileSync(input, 'utf8'), { requireTarget: false });
  const decisions = rows.map((r) => decideCodes(model, quantizeParsed(model.manifest.inputs, r.features)));
  const csv = decisionsToCsv(
    rows.map((r) => r.features),
    decisions,
  );
  const output = values['output'] as string | undefined;
  if (output === undefined) process.stdout.write(csv);
  else {
    writeFileSync(output, csv);
    const approved = decisions.reduce<number>((s, d) => s + d, 0);
    console.log(JSON.stringify({ modelVersion: model.manifest.modelVersion, rows: rows.length, approved, written: output }, null, 2));
  }
}

/** `--import-onnx` and `--boost`: an ensemble model, written as `manifest.json` + `ensemble.json`. */
async function ensemble(values: Record<string, string | string[] | boolean | undefined>): Promise<void> {
  const out = values['out'] as string | undefined;
  if (out === undefined) throw new ModelError('invalid_training', 'an ensemble needs --out <dir> (model/artifacts/ holds the demo tree)');
  const onnx = values['import-onnx'] as string | undefined;
  let model: EnsembleModel;
  let summary: Record<string, unknown>;
  if (onnx !== undefined) {
    const bytes = readFileSync(onnx);
    if (bytes.length > MAX_ONNX_BYTES)
      throw new ModelError('unsupported_onnx', `${onnx} has ${bytes.length} bytes; at most ${MAX_ONNX_BYTES} are accepted`);
    const imported = await importOnnxModel(new Uint8Array(bytes), {
      fieldMap: onnxFieldMap(single(values['field-map'] as string[] | undefined, 'field-map')),
      threshold: finiteNumber(values['threshold'] as string | undefined, 'threshold'),
      leafRange: positiveInt(values['leaf-range'] as string | undefined, 'leaf-range'),
      name: values['name'] as string | undefined,
    });
    model = imported.model;
    summary = { source: 'onnx', fields: Object.fromEntries(imported.fields.map((f) => [f.column, f.feature])), scale: imported.scale };
  } else {
    const csv = values['csv'] as string | undefined;
    const rows =
      csv === undefined ? generateApplications(DEMO_RECIPE.rows, DEMO_RECIPE.seed) : parseApplicationsCsv(readFileSync(csv, 'utf8'));
    const trained = await trainBoostedModel(rows, {
      trees: positiveInt(values['trees'] as string | undefined, 'trees'),
      maxDepth: positiveInt(values['max-depth'] as string | undefined, 'max-depth'),
      minSamplesLeaf: positiveInt(values['min-leaf'] as string | undefined, 'min-leaf'),
      leafRange: positiveInt(values['leaf-range'] as string | undefined, 'leaf-range'),
      policy: cliPolicy(values),
      seed: csv === undefined ? DEMO_RECIPE.seed : null,
    });
    model = trained.model;
    summary = { source: 'boosted', heldOut: trained.metrics };
    const exportPath = values['export-onnx'] as string | undefined;
    if (exportPath !== undefined) {
      const convention = OnnxConventionSchema.parse(values['convention'] ?? 'xgboost');
      writeFileSync(exportPath, boostedToOnnx(trained.boosted, convention));
      summary['onnx'] = { written: exportPath, convention, columns: boostedColumns(trained.boosted) };
    }
  }
  const dir = resolve(out);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'manifest.json'), serializeModelFile(model.manifest));
  writeFileSync(join(dir, 'ensemble.json'), serializeModelFile(model.ensemble));
  const { plan, pbsApplicantMode } = circuitFigures(model);
  console.log(
    JSON.stringify(
      {
        modelVersion: model.manifest.modelVersion,
        ...summary,
        reads: model.manifest.inputs.map((i) => i.name),
        ensemble: {
          trees: model.ensemble.trees.length,
          leaves: model.ensemble.trees.reduce((s, t) => s + t.nodes.filter((n) => n.type === 'leaf').length, 0),
          threshold: model.ensemble.threshold,
        },
        circuit: { ...plan.stats, pbsApplicantMode },
        written: dir,
      },
      null,
      2,
    ),
  );
}

const OnnxConventionSchema = z.enum(['xgboost', 'lightgbm', 'sklearn', 'mixed', 'regressor', 'forest']);

/**
 * `--name -0.3` → `--name=-0.3`: `parseArgs` refuses a value beginning with '-' as ambiguous, but
 * numbers here may be negative (a regressor's raw-score threshold).
 */
function joinNegativeNumbers(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const next = argv[i + 1];
    if (argv[i]!.startsWith('--') && !argv[i]!.includes('=') && next !== undefined && /^-\.?\d/.test(next)) {
      out.push(`${argv[i]}=${next}`);
      i++;
    } else {
      out.push(argv[i]!);
    }
  }
  return out;
}

class UsageError extends Error {}

function parseOptions(args: string[]) {
  return parseArgs({
    args,
    options: {
      'import-onnx': { type: 'string' },
      threshold: { type: 'string' },
      'leaf-range': { type: 'string' },
      boost: { type: 'boolean', default: false },
      trees: { type: 'string' },
      'export-onnx': { type: 'string' },
      convention: { type: 'string' },
      score: { type: 'string' },
      input: { type: 'string' },
      output: { type: 'string' },
      out: { type: 'string' },
      csv: { type: 'string' },
      'max-depth': { type: 'string' },
      'min-leaf': { type: 'string' },
      'export-csv': { type: 'string' },
      'import-pmml': { type: 'string' },
      'field-map': { type: 'string', multiple: true },
      'approve-score': { type: 'string' },
      name: { type: 'string' },
      check: { type: 'boolean', default: false },
      'eval-csv': { type: 'string' },
      'income-floor': { type: 'string' },
      'protected-age': { type: 'string' },
      increasing: { type: 'string' },
      collect: { type: 'string' },
    },
    strict: true,
  });
}

async function main(): Promise<void> {
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(joinNegativeNumbers(process.argv.slice(2)));
  } catch (e) {
    // parseArgs's own errors (unknown option, missing value) name the option: a usage error.
    if ((e as { code?: unknown }).code?.toString().startsWith('ERR_PARSE_ARGS')) throw new UsageError((e as Error).message);
    throw e;
  }
  const { values } = parsed;

  if (values.score !== undefined) return score(values);
  if (values['import-onnx'] !== undefined || values.boost) return ensemble(values);
  if (values['export-csv'] !== undefined) {
    writeFileSync(values['export-csv'], applicationsToCsv(generateApplications(DEMO_RECIPE.rows, DEMO_RECIPE.seed)));
    console.log(`wrote ${DEMO_RECIPE.rows} synthetic rows to ${values['export-csv']}`);
    return;
  }
  const out = resolve(values.out ?? ARTIFACTS_DIR);
  if (values.check) {
    // The artifact on disk first: it must load, satisfy its policy and fit the bootstrap budget.
    const read = (name: string) => {
      try {
        return readFileSync(join(out, name), 'utf8');
      } catch {
        throw new ModelError('invalid_json', `${name} cannot be read in ${out} (run npm run train)`);
      }
    };
    const onDisk = await loadModel(read('manifest.json'), read('tree.json'));
    const checked = checkConstraints(onDisk.manifest, onDisk.tree, policyOf(onDisk, values));
    if (checked.violations.length > 0) {
      for (const v of checked.violations) console.error(`constraint violated (${v.rule}, ${v.input}): ${v.message}`);
      process.exitCode = 1;
      return;
    }
    const { pbsApplicantMode } = circuitFigures(onDisk);
    if (values.out === undefined && pbsApplicantMode > DEMO_RECIPE.pbsBudget) {
      console.error(`the circuit needs ${pbsApplicantMode} bootstraps, over the budget of ${DEMO_RECIPE.pbsBudget}`);
      process.exitCode = 1;
      return;
    }
  }
  const { model, metrics, rows, fields, data } = await build(values, values.check ? committedSalt(join(out, 'tree.json')) : undefined);
  const files = { 'manifest.json': serializeModelFile(model.manifest), 'tree.json': serializeModelFile(model.tree) };
  const policy = policyOf(model, values);
  const constraints = checkConstraints(model.manifest, model.tree, policy);
  for (const v of constraints.violations) console.error(`constraint violated (${v.rule}, ${v.input}): ${v.message}`);
  // The trainer enforces the policy, so a violation there is a bug; an imported tree is the
  // bank's own, written with its violations in the report (and `--check` then fails on it).
  if (constraints.violations.length > 0 && model.tree.training.source !== 'pmml') {
    process.exitCode = 1;
    return;
  }
  const { plan, pbsApplicantMode } = circuitFigures(model);
  if (values.check) {
    const stale = Object.entries(files).filter(([name, text]) => {
      try {
        return readFileSync(join(out, name), 'utf8') !== text;
      } catch {
        return true;
      }
    });
    if (stale.length > 0) {
      console.error(`out of date: ${stale.map(([n]) => n).join(', ')} (run npm run train)`);
      process.exitCode = 1;
      return;
    }
  }
  const evalPath = values['eval-csv'];
  const trainRows = data && model.tree.training.source !== 'pmml' ? splitRows(data, 0.2, 1).train : null;
  const evaluation =
    evalPath === undefined
      ? null
      : (() => {
          const evalRows = parseApplicationsCsv(readFileSync(evalPath, 'utf8'));
          return {
            file: basename(evalPath),
            rows: evalRows,
            metrics: evaluate(model, evalRows, trainRows),
            alwaysApprove: approvalRate(evalRows),
          };
        })();
  const report = modelReport({
    model,
    rows: data,
    heldOut: metrics,
    evaluation,
    policy,
    constraints,
    circuit: {
      pbs: plan.stats.pbs,
      pbsDecision: plan.stats.pbsDecision,
      pbsExplanation: plan.stats.pbsExplanation,
      pbsSanitizePublicKey: pbsApplicantMode - plan.stats.pbs,
      pbsDepth: plan.stats.pbsDepth,
      budget: values.out === undefined && values.csv === undefined ? DEMO_RECIPE.pbsBudget : null,
    },
  });
  if (!values.check) {
    mkdirSync(out, { recursive: true });
    for (const [name, text] of Object.entries(files)) writeFileSync(join(out, name), text);
    writeFileSync(join(out, 'model-report.md'), report);
  }
  const leaves = model.tree.nodes.filter((n) => n.type === 'leaf').length;
  const figures = metrics && { accuracy: metrics.accuracy, precision: metrics.precision, recall: metrics.recall, auc: metrics.auc };
  const imported = model.tree.training.source === 'pmml';
  console.log(
    JSON.stringify(
      {
        modelVersion: model.manifest.modelVersion,
        ...(imported
          ? { source: 'pmml', fields, csvRows: rows.used, csv: figures }
          : { rows: rows.used, heldOutRows: rows.heldOut, heldOut: figures }),
        approvalRate: metrics?.approvalRate ?? null,
        ...(evaluation ? { evalCsv: { file: evaluation.file, rows: evaluation.rows.length, ...evaluation.metrics } } : {}),
        constraints: { violations: constraints.violations.length, checks: constraints.counts, combinations: constraints.combinations },
        reads: model.manifest.inputs.map((i) => i.name),
        tree: { nodes: model.tree.nodes.length, leaves },
        circuit: { ...plan.stats, pbsApplicantMode },
        written: values.check ? null : out,
      },
      null,
      2,
    ),
  );
}

main().catch((e: unknown) => {
  if (e instanceof ModelError) {
    console.error(`${e.code}: ${e.message}`);
    process.exitCode = 1;
  } else if (e instanceof UsageError) {
    console.error(`usage: ${e.message}`);
    process.exitCode = 2;
  } else {
    throw e;
  }
});
