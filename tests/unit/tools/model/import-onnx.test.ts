/**
 * ONNX tree-ensemble import: boosted ensembles written in each converter's convention
 * (tools/model/boost.ts) are imported and their quantized decisions compared with onnxruntime-node's
 * on 10,000 applicants, a third of them placed on a threshold of the model ± one step; hostile
 * files are refused with errors naming the attribute.
 */
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { boostTrees, boostedColumns, boostedToOnnx, type BoostedEnsemble, type OnnxConvention } from '../../../../tools/model/boost.ts';
import { predictEnsembleCodes } from '../../../../model/ensemble.ts';
import { ModelError } from '../../../../model/errors.ts';
import { FEATURE_SPECS, type CreditFeatures } from '../../../../model/features.ts';
import { nextDown, nextUp } from '../../../../tools/model/float.ts';
import { importOnnxModel, onnxRow } from '../../../../tools/model/import-onnx.ts';
import { loadAnyModel, serializeModelFile } from '../../../../model/private-model.ts';
import { MAX_ONNX_BYTES, writeOnnxEnsemble, type OnnxEnsembleSpec } from '../../../../tools/model/onnx.ts';
import { quantizeParsed } from '../../../../model/quantize.ts';
import { createRng } from '../../../../tools/model/random.ts';
import { generateApplications } from '../../../../tools/model/synthetic.ts';

const TRAIN_ROWS = 4_000;
const CHECK_ROWS = 10_000;

/** Synthetic applicants, a third moved onto a threshold of one numeric feature ± one step. */
function applicantsAtThresholds(e: BoostedEnsemble, count: number, seed: number): CreditFeatures[] {
  const rng = createRng(seed);
  const cuts = e.inputs.flatMap((i) =>
    i.quantizer.kind === 'thresholds' && FEATURE_SPECS[i.feature].kind !== 'category'
      ? i.quantizer.cuts.map((c) => [i.feature, c] as const)
      : [],
  );
  return generateApplications(count, seed).map(({ features }, k) => {
    if (k % 3 !== 0) return features;
    const [feature, cut] = cuts[rng.int(cuts.length)]!;
    const spec = FEATURE_SPECS[feature] as { kind: 'integer' | 'number'; min: number; max: number };
    const step = spec.kind === 'integer' ? [cut - 1, cut, cut + 1] : [nextDown(cut), cut, nextUp(cut), Math.fround(cut)];
    const value = Math.min(spec.max, Math.max(spec.min, step[rng.int(step.length)]!));
    return { ...features, [feature]: spec.kind === 'integer' ? Math.round(value) : value };
  });
}

async function runtimeDecisions(
  bytes: Uint8Array,
  columns: readonly (keyof CreditFeatures)[],
  rows: readonly CreditFeatures[],
  double: boolean,
  regressor: boolean,
) {
  const session = await ort.InferenceSession.create(bytes);
  const flat = rows.flatMap((r) => onnxRow(columns, r));
  const tensor = double
    ? new ort.Tensor('float64', Float64Array.from(flat), [rows.length, columns.length])
    : new ort.Tensor('float32', Float32Array.from(flat), [rows.length, columns.length]);
  const out = await session.run({ input: tensor });
  return rows.map((_, i) =>
    regressor
      ? (out['variable']!.data as Float32Array)[i]! >= 0
        ? 1
        : 0
      : (out['probabilities']!.data as Float32Array)[2 * i + 1]! >= 0.5
        ? 1
        : 0,
  );
}

const CASES: { convention: OnnxConvention; trees: number; maxDepth: number }[] = [
  { convention: 'xgboost', trees: 20, maxDepth: 4 },
  { convention: 'lightgbm', trees: 30, maxDepth: 3 },
  { convention: 'sklearn', trees: 20, maxDepth: 5 },
  { convention: 'mixed', trees: 25, maxDepth: 4 },
  { convention: 'regressor', trees: 20, maxDepth: 4 },
  { convention: 'forest', trees: 20, maxDepth: 5 },
];

describe('ONNX import against onnxruntime-node', () => {
  const rows = generateApplications(TRAIN_ROWS, 31);
  it.each(CASES)(
    '$convention, $trees trees of depth $maxDepth: ≥ 99.5 % agreement, exact cuts',
    async ({ convention, trees, maxDepth }) => {
      const boosted = boostTrees(rows, { trees, maxDepth, learningRate: 0.2 });
      const bytes = boostedToOnnx(boosted, convention);
      const check = applicantsAtThresholds(boosted, CHECK_ROWS, 7);
      const reference = await runtimeDecisions(bytes, boostedColumns(boosted), check, convention === 'sklearn', convention === 'regressor');
      const threshold = convention === 'regressor' ? 0 : 0.5;
      const agreement = async (leafRange: number) => {
        const { model } = await importOnnxModel(bytes, { threshold, leafRange });
        const same = check.filter(
          (f, i) => predictEnsembleCodes(model.ensemble, quantizeParsed(model.manifest.inputs, f)) === reference[i],
        ).length;
        return same / check.length;
      };
      // The default leaf range (63, three 2-bit digits per tree): rounding leaves to integers is the
      // only source of disagreement; a fine range shows every cut exact, even on the thresholds.
      expect(await agreement(63)).toBeGreaterThanOrEqual(0.995);
      expect(await agreement(4095)).toBeGreaterThanOrEqual(0.9995);
    },
  );

  it('round-trips through the files: loadAnyModel accepts the sealed ensemble and refuses an edited one', async () => {
    const boosted = boostTrees(rows, { trees: 5, maxDepth: 3 });
    const { model } = await importOnnxModel(boostedToOnnx(boosted, 'xgboost'));
    const manifest = serializeModelFile(model.manifest);
    const ensemble = serializeModelFile(model.ensemble);
    expect(await loadAnyModel(manifest, ensemble)).toEqual(model);
    const edited = JSON.parse(ensemble);
    edited.threshold += 1;
    await expect(loadAnyModel(manifest, edited)).rejects.toMatchObject({ code: 'version_mismatch' });
  });
});

// ---------------------------------------------------------------------------------------------
// Hostile and unsupported files

/** A valid one-tree classifier: x0 ≤ 50,000 → −1, else +1 (column 0 = total_income). */
function spec(over: Partial<OnnxEnsembleSpec> = {}): OnnxEnsembleSpec {
  return {
    op: 'TreeEnsembleClassifier',
    opset: 1,
    features: 1,
    ints: {
      nodes_treeids: [0, 0, 0],
      nodes_nodeids: [0, 1, 2],
      nodes_featureids: [0, 0, 0],
      nodes_truenodeids: [1, 0, 0],
      nodes_falsenodeids: [2, 0, 0],
      class_treeids: [0, 0],
      class_nodeids: [1, 2],
      class_ids: [0, 0],
      classlabels_int64s: [0, 1],
    },
    floats: { nodes_values: [50_000, 0, 0], class_weights: [-1, 1] },
    strings: { nodes_modes: ['BRANCH_LEQ', 'LEAF', 'LEAF'], post_transform: 'LOGISTIC' },
    metadata: { feature_names: 'total_income' },
    ...over,
  };
}
const withInts = (ints: Record<string, number | number[]>) => spec({ ints: { ...spec().ints, ...ints } });
const withFloats = (floats: Record<string, number | number[]>) => spec({ floats: { ...spec().floats, ...floats } });
const withStrings = (strings: Record<string, string | string[]>) => spec({ strings: { ...spec().strings, ...strings } });

async function refusal(bytes: Uint8Array): Promise<ModelError> {
  try {
    await importOnnxModel(bytes);
  } catch (e) {
    if (e instanceof ModelError) return e;
    throw e;
  }
  throw new Error('the import succeeded');
}

describe('ONNX import refusals', () => {
  let valid: Uint8Array;
  beforeAll(() => {
    valid = writeOnnxEnsemble(spec());
  });

  it('imports the valid one-tree model exactly at its threshold (float32 input)', async () => {
    const { model } = await importOnnxModel(valid);
    // fround(x) ≤ 50,000 holds below the midpoint between 50,000 and the next float32.
    const income = model.manifest.inputs.find((i) => i.name === 'total_income')!;
    const next = 50_000 + 2 ** -8;
    expect(income.quantizer).toEqual({ kind: 'thresholds', cuts: [nextUp((50_000 + next) / 2)] });
    expect(Math.fround(nextDown(income.quantizer.kind === 'thresholds' ? income.quantizer.cuts[0]! : 0))).toBe(50_000);
  });

  it.each([
    ['truncated', () => valid.slice(0, valid.length - 7), 'invalid_onnx', /protobuf|missing|has 0/],
    ['not protobuf', () => new TextEncoder().encode('<PMML version="4.4"/>'), 'invalid_onnx', /protobuf/],
    ['empty', () => new Uint8Array(), 'invalid_onnx', /empty/],
    ['oversized', () => new Uint8Array(MAX_ONNX_BYTES + 1), 'unsupported_onnx', /bytes/],
    [
      'a detached cycle',
      () =>
        writeOnnxEnsemble(
          spec({
            ...spec(),
            ints: {
              ...spec().ints,
              nodes_treeids: [0, 0, 0, 0, 0, 0, 0],
              nodes_nodeids: [0, 1, 2, 3, 4, 5, 6],
              nodes_featureids: [0, 0, 0, 0, 0, 0, 0],
              nodes_truenodeids: [1, 0, 0, 4, 3, 0, 0],
              nodes_falsenodeids: [2, 0, 0, 5, 6, 0, 0],
            },
            floats: { nodes_values: [50_000, 0, 0, 1, 2, 0, 0], class_weights: [-1, 1] },
            strings: {
              nodes_modes: ['BRANCH_LEQ', 'LEAF', 'LEAF', 'BRANCH_LEQ', 'BRANCH_LEQ', 'LEAF', 'LEAF'],
              post_transform: 'LOGISTIC',
            },
          }),
        ),
      'invalid_onnx',
      /cycle/,
    ],
    [
      'cyclic node references',
      () => writeOnnxEnsemble(withInts({ nodes_truenodeids: [1, 0, 0], nodes_falsenodeids: [0, 0, 0] })),
      'invalid_onnx',
      /roots|cycl/,
    ],
    [
      'a shared child',
      () => writeOnnxEnsemble(withInts({ nodes_truenodeids: [1, 0, 0], nodes_falsenodeids: [1, 0, 0] })),
      'invalid_onnx',
      /child of 2|roots/,
    ],
    [
      'a NaN threshold',
      () => writeOnnxEnsemble(withFloats({ nodes_values: [Number.NaN, 0, 0] })),
      'invalid_onnx',
      /nodes_values\[0\].*NaN/,
    ],
    [
      'an unknown mode',
      () => writeOnnxEnsemble(withStrings({ nodes_modes: ['BRANCH_MEMBER', 'LEAF', 'LEAF'] })),
      'invalid_onnx',
      /nodes_modes\[0\]/,
    ],
    [
      'lengths that differ',
      () => writeOnnxEnsemble(withInts({ nodes_featureids: [0, 0] })),
      'invalid_onnx',
      /nodes_featureids has 2 entries/,
    ],
    ['a weight on a branch', () => writeOnnxEnsemble(withInts({ class_nodeids: [0, 2] })), 'invalid_onnx', /class_nodeids\[0\].*branch/],
    ['a column out of range', () => writeOnnxEnsemble(withInts({ nodes_featureids: [3, 0, 0] })), 'invalid_onnx', /nodes_featureids\[0\]/],
    ['softmax output', () => writeOnnxEnsemble(withStrings({ post_transform: 'SOFTMAX' })), 'unsupported_onnx', /post_transform SOFTMAX/],
    ['three classes', () => writeOnnxEnsemble(withInts({ classlabels_int64s: [0, 1, 2] })), 'unsupported_onnx', /classlabels/],
    ['ai.onnx.ml opset 5', () => writeOnnxEnsemble(spec({ opset: 5 })), 'unsupported_onnx', /ai\.onnx\.ml version 5/],
    ['another operator', () => writeOnnxEnsemble(spec({ op: 'LinearClassifier' as never })), 'unsupported_onnx', /exactly one/],
    ['no column names', () => writeOnnxEnsemble(spec({ metadata: {} })), 'unsupported_onnx', /--field-map/],
  ] as const)('refuses %s', async (_name, make, code, message) => {
    const e = await refusal(make());
    expect(e.code).toBe(code);
    expect(e.message).toMatch(message);
  });

  it('refuses an unmapped column and a column that is not a feature, naming it', async () => {
    await expect(importOnnxModel(valid, { fieldMap: [null] })).rejects.toMatchObject({
      code: 'unknown_field',
      message: expect.stringMatching(/column 0/),
    });
    await expect(importOnnxModel(valid, { fieldMap: ['salary'] })).rejects.toMatchObject({
      code: 'unknown_field',
      message: expect.stringMatching(/"salary"/),
    });
  });

  it('refuses a tree deeper than the bound without recursing on it', async () => {
    const depth = 40;
    const ids = Array.from({ length: 2 * depth + 1 }, (_, i) => i);
    // A chain: node 2k branches to 2k+1 (leaf) and 2k+2.
    const isBranch = (i: number) => i % 2 === 0 && i < 2 * depth;
    const bytes = writeOnnxEnsemble(
      spec({
        ints: {
          nodes_treeids: ids.map(() => 0),
          nodes_nodeids: ids,
          nodes_featureids: ids.map(() => 0),
          nodes_truenodeids: ids.map((i) => (isBranch(i) ? i + 1 : 0)),
          nodes_falsenodeids: ids.map((i) => (isBranch(i) ? i + 2 : 0)),
          class_treeids: ids.filter((i) => !isBranch(i)).map(() => 0),
          class_nodeids: ids.filter((i) => !isBranch(i)),
          class_ids: ids.filter((i) => !isBranch(i)).map(() => 0),
          classlabels_int64s: [0, 1],
        },
        floats: { nodes_values: ids.map((i) => 1000 * i), class_weights: ids.filter((i) => !isBranch(i)).map((i) => i / 100) },
        strings: { nodes_modes: ids.map((i) => (isBranch(i) ? 'BRANCH_LT' : 'LEAF')), post_transform: 'LOGISTIC' },
      }),
    );
    const e = await refusal(bytes);
    expect(e.code).toBe('unsupported_onnx');
    expect(e.message).toMatch(/deeper than 8/);
  });
});
