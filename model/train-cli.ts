/**
 * `npm run train` — trains the demo model and writes `model/artifacts/{manifest,tree}.json`.
 *
 *   npm run train                          # the committed demo model (deterministic)
 *   npm run train -- --check               # exit 1 unless the committed files are up to date
 *   npm run train -- --csv my-data.csv --out my-model [--max-depth 5] [--min-leaf 40]
 *   npm run train -- --export-csv demo.csv # write the synthetic training data as CSV
 *
 * Prints the held-out accuracy, precision and recall, and the circuit's bootstrap counts.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { compileCircuit } from '../evaluator/circuit/compile.ts';
import { applicationsToCsv, parseApplicationsCsv } from './csv.ts';
import { ModelError } from './errors.ts';
import { serializeModelFile } from './manifest.ts';
import { generateApplications } from './synthetic.ts';
import { DEMO_RECIPE, trainDemoModel, trainModel } from './train.ts';

export const ARTIFACTS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'artifacts');

function positiveInt(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new ModelError('invalid_training', `--${name} must be a positive integer`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: 'string' },
      csv: { type: 'string' },
      'max-depth': { type: 'string' },
      'min-leaf': { type: 'string' },
      'export-csv': { type: 'string' },
      check: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values['export-csv'] !== undefined) {
    writeFileSync(values['export-csv'], applicationsToCsv(generateApplications(DEMO_RECIPE.rows, DEMO_RECIPE.seed)));
    console.log(`wrote ${DEMO_RECIPE.rows} synthetic rows to ${values['export-csv']}`);
    return;
  }
  const { model, metrics } =
    values.csv === undefined
      ? await trainDemoModel()
      : await trainModel(parseApplicationsCsv(readFileSync(values.csv, 'utf8')), {
          maxDepth: positiveInt(values['max-depth'], 'max-depth') ?? DEMO_RECIPE.maxDepth,
          minSamplesLeaf: positiveInt(values['min-leaf'], 'min-leaf') ?? DEMO_RECIPE.minSamplesLeaf,
          classWeights: 'balanced',
          source: { kind: 'csv' },
        });
  const files = { 'manifest.json': serializeModelFile(model.manifest), 'tree.json': serializeModelFile(model.tree) };
  const out = resolve(values.out ?? ARTIFACTS_DIR);
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
  console.log(
    JSON.stringify(
      {
        modelVersion: model.manifest.modelVersion,
        rows: model.manifest.training.rows,
        heldOutRows: model.manifest.training.heldOutRows,
        heldOut: { accuracy: metrics.accuracy, precision: metrics.precision, recall: metrics.recall },
        approvalRate: metrics.approvalRate,
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
