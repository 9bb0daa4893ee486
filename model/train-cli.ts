/**
 * `npm run train` — trains the demo model and writes `model/artifacts/{manifest,tree}.json`.
 *
 *   npm run train                          # the committed demo model (deterministic)
 *   npm run train -- --check               # exit 1 unless the committed files are up to date
 *   npm run train -- --csv my-data.csv --out my-model [--max-depth 5] [--min-leaf 40]
 *   npm run train -- --export-csv demo.csv # write the synthetic training data as CSV
 *   npm run train -- --import-pmml bank-tree.pmml --out my-model [--field-map income=total_income]
 *                    [--approve-score approved] [--name "…"] [--csv data.csv]   # bring your own tree
 *
 * Prints the held-out accuracy, precision and recall (for an imported tree: on `--csv`, if
 * given), the tree's size and the circuit's bootstrap counts. A bank's model (`--csv`,
 * `--import-pmml`) gets a fresh random salt; `--check` reuses the salt of the tree file it
 * checks, so only a change of content counts as stale.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { compileCircuit } from '../evaluator/circuit/compile.ts';
import { applicationsToCsv, parseApplicationsCsv } from './csv.ts';
import { ModelError } from './errors.ts';
import { importPmmlModel } from './import-pmml.ts';
import { Salt, serializeModelFile, type Model } from './manifest.ts';
import { generateApplications } from './synthetic.ts';
import { DEMO_RECIPE, trainDemoModel, trainModel, type Metrics } from './train.ts';

export const ARTIFACTS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'artifacts');

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
    };
  }
  const { model, metrics } =
    csv === undefined
      ? await trainDemoModel()
      : await trainModel(parseApplicationsCsv(readFileSync(csv, 'utf8')), {
          maxDepth: positiveInt(values['max-depth'] as string | undefined, 'max-depth') ?? DEMO_RECIPE.maxDepth,
          minSamplesLeaf: positiveInt(values['min-leaf'] as string | undefined, 'min-leaf') ?? DEMO_RECIPE.minSamplesLeaf,
          classWeights: 'balanced',
          source: { kind: 'csv' },
          salt,
        });
  const training = model.tree.training;
  return { model, metrics, rows: { used: training.rows, heldOut: training.source === 'pmml' ? null : training.heldOutRows } };
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

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
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
    },
    strict: true,
  });
  if (values['export-csv'] !== undefined) {
    writeFileSync(values['export-csv'], applicationsToCsv(generateApplications(DEMO_RECIPE.rows, DEMO_RECIPE.seed)));
    console.log(`wrote ${DEMO_RECIPE.rows} synthetic rows to ${values['export-csv']}`);
    return;
  }
  const out = resolve(values.out ?? ARTIFACTS_DIR);
  const { model, metrics, rows, fields } = await build(values, values.check ? committedSalt(join(out, 'tree.json')) : undefined);
  const files = { 'manifest.json': serializeModelFile(model.manifest), 'tree.json': serializeModelFile(model.tree) };
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
  } else {
    mkdirSync(out, { recursive: true });
    for (const [name, text] of Object.entries(files)) writeFileSync(join(out, name), text);
  }
  const plan = compileCircuit(model);
  const leaves = model.tree.nodes.filter((n) => n.type === 'leaf').length;
  const figures = metrics && { accuracy: metrics.accuracy, precision: metrics.precision, recall: metrics.recall };
  const imported = model.tree.training.source === 'pmml';
  console.log(
    JSON.stringify(
      {
        modelVersion: model.manifest.modelVersion,
        ...(imported
          ? { source: 'pmml', fields, csvRows: rows.used, csv: figures }
          : { rows: rows.used, heldOutRows: rows.heldOut, heldOut: figures }),
        approvalRate: metrics?.approvalRate ?? null,
        tree: { nodes: model.tree.nodes.length, leaves },
        circuit: plan.stats,
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
  } else {
    throw e;
  }
});
