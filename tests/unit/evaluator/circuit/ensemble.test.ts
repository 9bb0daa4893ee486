/**
 * The ensemble circuit in the cleartext simulator: for ONNX-imported ensembles of several shapes
 * (and the boosted demo shape), the simulated plan — which also re-checks every value against
 * tfhe-rs's degree and noise rules — decides and explains exactly as the quantized cleartext
 * ensemble on 1,200 applicants each.
 */
import { describe, expect, it } from 'vitest';
import { compileCircuit, simulateCircuit } from '../../../../evaluator/circuit/index.ts';
import { boostTrees, boostedToOnnx, type OnnxConvention } from '../../../../tools/model/boost.ts';
import { explainEnsembleCodes } from '../../../../model/ensemble.ts';
import { importOnnxModel } from '../../../../tools/model/import-onnx.ts';
import { readExplanation } from '../../../../model/infer.ts';
import { sealEnsemble, type EnsembleModel } from '../../../../model/private-model.ts';
import { quantizeParsed } from '../../../../model/quantize.ts';
import { generateApplications } from '../../../../tools/model/synthetic.ts';

const rows = generateApplications(4_000, 77);
const applicants = generateApplications(1_200, 78).map((a) => a.features);

function expectSimulationMatches(model: EnsembleModel) {
  const plan = compileCircuit(model);
  const outcomes = new Set<string>();
  for (const features of applicants) {
    const codes = quantizeParsed(model.manifest.inputs, features);
    const expected = explainEnsembleCodes(model.ensemble, codes, model.manifest.explanation);
    const got = simulateCircuit(plan, codes);
    expect({ decision: got.decision, bits: got.explanation }).toEqual(expected);
    expect(got.pbs).toBe(plan.stats.pbs);
    outcomes.add(readExplanation(expected.decision, expected.bits, model.manifest.explanation.bins).kind);
  }
  return { plan, outcomes };
}

describe('ensemble circuit', () => {
  it.each([
    ['xgboost', 20, 4, 63],
    ['lightgbm', 30, 3, 15],
    ['sklearn', 12, 5, 63],
    ['xgboost', 10, 6, 63],
    ['mixed', 20, 4, 3],
  ] as [OnnxConvention, number, number, number][])(
    '%s, %i trees of depth %i, leaf range %i: simulation equals the cleartext ensemble',
    async (convention, trees, maxDepth, leafRange) => {
      const { model } = await importOnnxModel(boostedToOnnx(boostTrees(rows, { trees, maxDepth }), convention), { leafRange });
      const { plan, outcomes } = expectSimulationMatches(model);
      expect(plan.stats.pbs).toBe(plan.stats.pbsDecision + plan.stats.pbsExplanation);
      expect(plan.explanationBins.map((b) => b.label)).toEqual(model.manifest.explanation.bins.map((b) => b.label));
      if (leafRange > 3) expect([...outcomes].sort()).toEqual(['approved', 'none', 'suggest']);
    },
  );

  it('folds a threshold every applicant meets, or none can, to a constant', async () => {
    const { model } = await importOnnxModel(boostedToOnnx(boostTrees(rows, { trees: 4, maxDepth: 3 }), 'xgboost'));
    const { modelVersion: _m, ...manifest } = model.manifest;
    const { modelVersion: _e, ...ensemble } = model.ensemble;
    for (const threshold of [-100_000, 100_000]) {
      const sealed = await sealEnsemble(manifest, { ...ensemble, threshold });
      const plan = compileCircuit(sealed);
      const want = threshold < 0 ? 1 : 0;
      for (const features of applicants.slice(0, 50)) {
        const codes = quantizeParsed(sealed.manifest.inputs, features);
        expect(simulateCircuit(plan, codes)).toMatchObject({ decision: want });
        expect(simulateCircuit(plan, codes).explanation).toEqual(
          explainEnsembleCodes(sealed.ensemble, codes, sealed.manifest.explanation).bits,
        );
      }
    }
  });
});
