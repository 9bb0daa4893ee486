/**
 * An ONNX-imported ensemble on real ciphertexts: node-tfhe 1.6.1 encrypts each party's digits,
 * our engine runs the ensemble circuit, node-tfhe decrypts. Decision and explanation bits must
 * equal the quantized cleartext ensemble: one applicant of each outcome on a 4-tree ensemble, and
 * 20 applicants as they come on a 3-tree one small enough to keep the suite cheap (18 bootstraps
 * each, carries included; `BENCH_CIRCUIT_RUNS` encrypted applicants more in `npm run bench`'s
 * `circuit.ensemble`), and 4 on one depth-5 tree (three block levels, subtree leaf indices).
 */
import { describe, expect, it } from 'vitest';
import { compileCircuit, type CircuitPlan } from '../../../../evaluator/circuit/index.ts';
import { boostTrees, boostedToOnnx } from '../../../../tools/model/boost.ts';
import { explainEnsembleCodes } from '../../../../model/ensemble.ts';
import { importOnnxModel } from '../../../../tools/model/import-onnx.ts';
import type { CreditFeatures } from '../../../../model/features.ts';
import type { Codes } from '../../../../model/infer.ts';
import type { EnsembleModel } from '../../../../model/private-model.ts';
import { quantizeParsed } from '../../../../model/quantize.ts';
import { generateApplications } from '../../../../tools/model/synthetic.ts';
import { SLOW, applicantPerOutcome, encryptedRunner, filePbsPool } from './support/encrypted-run.ts';

const pool = filePbsPool();

/**
 * Runs every applicant on ciphertexts side by side on the pool (as the evaluator runs concurrent
 * requests) and expects each decision and explanation to equal the quantized cleartext ensemble's.
 */
async function expectCleartextDecisions(model: EnsembleModel, plan: CircuitPlan, applications: readonly { features: CreditFeatures }[]) {
  const run = encryptedRunner(pool());
  const got = await Promise.all(
    applications.map(async ({ features }) => {
      const { decision, bits, pbs } = await run(plan, model.manifest, features);
      expect(pbs).toBe(plan.stats.pbs);
      return { decision, bits };
    }),
  );
  const expected = applications.map(({ features }) =>
    explainEnsembleCodes(model.ensemble, quantizeParsed(model.manifest.inputs, features), model.manifest.explanation),
  );
  expect(got).toEqual(expected);
  return expected;
}

describe('ONNX ensemble, encrypted', () => {
  it('decides and explains on ciphertexts as the quantized cleartext ensemble (approved, suggested bin, none)', SLOW, async () => {
    const boosted = boostTrees(generateApplications(3_000, 91), { trees: 4, maxDepth: 3, learningRate: 0.5 });
    const { model } = await importOnnxModel(boostedToOnnx(boosted, 'xgboost'), { leafRange: 15 });
    const explain = (codes: Codes) => explainEnsembleCodes(model.ensemble, codes, model.manifest.explanation);
    const picked = applicantPerOutcome(model.manifest, explain, generateApplications(3_000, 92));
    expect([...picked.keys()].sort()).toEqual(['approved', 'none', 'suggest']);
    await expectCleartextDecisions(
      model,
      compileCircuit(model),
      [...picked.values()].map((features) => ({ features })),
    );
  });

  it('decides and explains 20 applicants on ciphertexts as the quantized cleartext ensemble', SLOW, async () => {
    const boosted = boostTrees(generateApplications(3_000, 91), { trees: 3, maxDepth: 2, learningRate: 0.5 });
    const { model } = await importOnnxModel(boostedToOnnx(boosted, 'lightgbm'), { leafRange: 3 });
    const expected = await expectCleartextDecisions(model, compileCircuit(model), generateApplications(20, 93));
    expect(new Set(expected.map((e) => e.decision))).toEqual(new Set([0, 1]));
  });

  it('decides and explains on ciphertexts through the subtree leaf indices of a depth-5 tree', SLOW, async () => {
    // Three block levels: each depth-3 subtree below the root block has its own leaf index
    // (47 bootstraps per applicant at leaf range 15, its leaf pairs coded).
    const boosted = boostTrees(generateApplications(3_000, 91), { trees: 1, maxDepth: 5, learningRate: 0.5 });
    const { model } = await importOnnxModel(boostedToOnnx(boosted, 'xgboost'), { leafRange: 15 });
    await expectCleartextDecisions(model, compileCircuit(model), generateApplications(4, 94));
  });
});
