/**
 * An ONNX-imported ensemble on real ciphertexts: node-tfhe 1.6.1 encrypts each party's digits,
 * our engine runs the ensemble circuit, node-tfhe decrypts. Decision and explanation bits must
 * equal the quantized cleartext ensemble (one applicant of each outcome; `BENCH_CIRCUIT_RUNS`
 * encrypted applicants more in `npm run bench`'s `circuit.ensemble`).
 */
import { describe, expect, it } from 'vitest';
import { compileCircuit } from '../../../evaluator/circuit/index.ts';
import { boostTrees, boostedToOnnx } from '../../../tools/model/boost.ts';
import { explainEnsembleCodes } from '../../../model/ensemble.ts';
import { importOnnxModel } from '../../../tools/model/import-onnx.ts';
import type { Codes } from '../../../model/infer.ts';
import { quantizeParsed } from '../../../model/quantize.ts';
import { generateApplications } from '../../../tools/model/synthetic.ts';
import { SLOW, applicantPerOutcome, encryptedRunner, filePbsPool } from './support/encrypted-run.ts';

const pool = filePbsPool();

describe('ONNX ensemble, encrypted', () => {
  it('decides and explains on ciphertexts as the quantized cleartext ensemble (approved, suggested bin, none)', SLOW, async () => {
    const boosted = boostTrees(generateApplications(3_000, 91), { trees: 4, maxDepth: 3, learningRate: 0.5 });
    const { model } = await importOnnxModel(boostedToOnnx(boosted, 'xgboost'), { leafRange: 15 });
    const plan = compileCircuit(model);
    const run = encryptedRunner(pool());
    const explain = (codes: Codes) => explainEnsembleCodes(model.ensemble, codes, model.manifest.explanation);

    const picked = applicantPerOutcome(model.manifest, explain, generateApplications(3_000, 92));
    expect([...picked.keys()].sort()).toEqual(['approved', 'none', 'suggest']);
    for (const features of picked.values()) {
      const expected = explain(quantizeParsed(model.manifest.inputs, features));
      const { decision, bits, pbs } = await run(plan, model.manifest, features);
      expect(pbs).toBe(plan.stats.pbs);
      expect({ decision, bits }).toEqual(expected);
    }
  });
});
