import { describe, expect, it } from 'vitest';
import { trainCart } from '../../../../tools/model/cart.ts';
import { ModelError } from '../../../../model/errors.ts';
import { predictCodes } from '../../../../model/infer.ts';
import { TrainedInfo } from '../../../../model/private-model.ts';
import { generateApplications, approvalProbability } from '../../../../tools/model/synthetic.ts';
import { scorePredictions, splitRows, trainModel } from '../../../../tools/model/train.ts';

describe('synthetic data', () => {
  it('is reproducible and has a realistic approval rate', () => {
    const a = generateApplications(5_000, 42);
    expect(generateApplications(5_000, 42)).toEqual(a);
    expect(generateApplications(5_000, 43)).not.toEqual(a);
    const rate = a.reduce((s, r) => s + r.approved, 0) / a.length;
    expect(rate).toBeGreaterThan(0.6);
    expect(rate).toBeLessThan(0.75);
  });

  it('lets income, employment, account age and age drive approval', () => {
    const base = generateApplications(1, 5)[0]!.features;
    const p = approvalProbability;
    expect(p({ ...base, total_income: 60_000 })).toBeGreaterThan(p({ ...base, total_income: 12_000 }));
    expect(p({ ...base, years_employed: '8-11' })).toBeGreaterThan(p({ ...base, years_employed: '0-2' }));
    expect(p({ ...base, employed: true })).toBeGreaterThan(p({ ...base, employed: false }));
    expect(p({ ...base, account_age: 240 })).toBeGreaterThan(p({ ...base, account_age: 3 }));
    expect(p({ ...base, age: 40 })).toBeGreaterThan(p({ ...base, age: 19 }));
  });
});

describe('CART', () => {
  it('finds an exact split and respects depth, leaf size and class weights', () => {
    // Label = code(f1) ≥ 3; f0 is noise.
    const n = 400;
    const f0 = Uint8Array.from({ length: n }, (_, i) => (i * 7) % 4);
    const f1 = Uint8Array.from({ length: n }, (_, i) => i % 8);
    const labels = Uint8Array.from(f1, (c) => (c >= 3 ? 1 : 0));
    const data = { codes: [f0, f1], levels: [4, 8], labels };
    const nodes = trainCart(data, ['f0', 'f1'], { maxDepth: 3, minSamplesLeaf: 1, classWeights: { denied: 1, approved: 1 } });
    expect(nodes[0]).toEqual({ type: 'split', input: 'f1', threshold: 2, left: 1, right: 2 });
    expect(nodes).toHaveLength(3);
    for (let c = 0; c < 8; c++) expect(predictCodes({ nodes }, { f0: 0, f1: c })).toBe(c >= 3 ? 1 : 0);

    const stump = trainCart(data, ['f0', 'f1'], { maxDepth: 0, minSamplesLeaf: 1, classWeights: { denied: 1, approved: 1 } });
    expect(stump).toEqual([{ type: 'leaf', decision: 1, samples: n }]);
    // Denials weighted 10× win the majority.
    const weighted = trainCart(data, ['f0', 'f1'], { maxDepth: 0, minSamplesLeaf: 1, classWeights: { denied: 10, approved: 1 } });
    expect(weighted[0]).toMatchObject({ decision: 0 });
    // A leaf-size floor larger than the minority side forbids the split.
    const big = trainCart(data, ['f0', 'f1'], { maxDepth: 3, minSamplesLeaf: 160, classWeights: { denied: 1, approved: 1 } });
    expect(big.every((node) => node.type === 'leaf' || node.threshold !== 2)).toBe(true);
  });

  it('refuses bad options', () => {
    const data = { codes: [Uint8Array.of(0, 1)], levels: [2], labels: Uint8Array.of(0, 1) };
    const opts = { maxDepth: 2, minSamplesLeaf: 1, classWeights: { denied: 1, approved: 1 } };
    expect(() => trainCart(data, ['x'], { ...opts, minSamplesLeaf: 0 })).toThrow(ModelError);
    expect(() => trainCart(data, ['x'], { ...opts, classWeights: { denied: 0, approved: 1 } })).toThrow(ModelError);
    expect(() => trainCart(data, ['x', 'y'], opts)).toThrow(ModelError);
  });
});

describe('training pipeline', () => {
  it('reports held-out metrics that match a recount, and refuses single-class data', async () => {
    const rows = generateApplications(3_000, 11);
    const { model, metrics } = await trainModel(rows, { maxDepth: 4, minSamplesLeaf: 20, splitSeed: 3 });
    expect(model.tree.training.metrics).toEqual(metrics);
    expect(TrainedInfo.parse(model.tree.training).heldOutRows).toBe(600);
    const { heldOut } = splitRows(rows, 0.2, 3);
    const { quantizeParsed } = await import('../../../../model/quantize.ts');
    const predictions = heldOut.map((r) => predictCodes(model.tree, quantizeParsed(model.manifest.inputs, r.features)));
    const recount = scorePredictions(
      heldOut.map((r) => r.approved),
      predictions,
    );
    expect(metrics.accuracy).toBeCloseTo(recount.accuracy, 4);
    expect(metrics.precision).toBeCloseTo(recount.precision, 4);
    expect(metrics.recall).toBeCloseTo(recount.recall, 4);
    const allApproved = rows.map((r) => ({ ...r, approved: 1 as const }));
    await expect(trainModel(allApproved)).rejects.toThrow(/single class/);
  });

  it('scores predictions', () => {
    expect(scorePredictions([1, 1, 0, 0], [1, 0, 1, 0])).toEqual({ accuracy: 0.5, precision: 0.5, recall: 0.5 });
  });
});
