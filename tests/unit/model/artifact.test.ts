import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ModelError } from '../../../model/errors.ts';
import { parseManifest } from '../../../model/manifest.ts';
import {
  canonicalJson,
  computeModelVersion,
  loadModel,
  randomSalt,
  serializeModelFile,
  type TreeFile,
} from '../../../model/private-model.ts';
import { DEMO_RECIPE, trainDemoModel } from '../../../tools/model/train.ts';

const manifestText = readFileSync(new URL('../../../model/artifacts/manifest.json', import.meta.url), 'utf8');
const treeText = readFileSync(new URL('../../../model/artifacts/tree.json', import.meta.url), 'utf8');

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ModelError);
    return (e as ModelError).code;
  }
  throw new Error('expected a ModelError');
}

describe('model artifact', () => {
  it('is what `npm run train` produces, byte for byte (training is deterministic)', async () => {
    const { model, metrics } = await trainDemoModel();
    expect(serializeModelFile(model.manifest)).toBe(manifestText);
    expect(serializeModelFile(model.tree)).toBe(treeText);
    expect(metrics.approvalRate).toBeGreaterThan(0.6);
    expect(metrics.approvalRate).toBeLessThan(0.75);
    expect(metrics.accuracy).toBeGreaterThan(0.75);
  });

  it('loads, with every input within 4 bits and the version recomputed from the content', async () => {
    const model = await loadModel(manifestText, treeText);
    expect(model.manifest.modelVersion).toMatch(/^[0-9a-f]{64}$/);
    expect(model.tree.modelVersion).toBe(model.manifest.modelVersion);
    for (const input of model.manifest.inputs) expect(input.bits).toBeLessThanOrEqual(4);
    // The explanation holds employed at 1, so bin 0-2 speaks to a not-employed applicant too.
    expect(model.manifest.explanation.bins.map((b) => b.label)).toEqual(['0-2', '2-5', '5-8', '8-11', '11-18', '18+']);
    expect(model.manifest.explanation.assume).toEqual([{ input: 'employed', code: 1 }]);
  });

  it('lists exactly the inputs the tree reads (data minimisation), each feature once', async () => {
    const model = await loadModel(manifestText, treeText);
    const read = new Set(model.tree.nodes.flatMap((n) => (n.type === 'split' ? [n.input] : [])));
    expect(new Set(model.manifest.inputs.map((i) => i.name))).toEqual(read);
    expect(model.manifest.unreadInputs).toBeUndefined();
    // The answers that plausibly matter, from each party.
    for (const name of ['total_income', 'age', 'account_age', 'years_employed', 'employed']) expect(read.has(name)).toBe(true);
  });

  it('refuses a tree of another version, and files edited after training', async () => {
    const tree = JSON.parse(treeText) as TreeFile;
    expect(await codeOf(loadModel(manifestText, { ...tree, modelVersion: 'ab'.repeat(32) }))).toBe('version_mismatch');
    const edited = structuredClone(tree);
    const leaf = edited.nodes.find((n) => n.type === 'leaf')!;
    if (leaf.type === 'leaf') leaf.decision = leaf.decision === 1 ? 0 : 1;
    expect(await codeOf(loadModel(manifestText, edited))).toBe('version_mismatch');
    const manifest = JSON.parse(manifestText);
    manifest.name = 'renamed';
    expect(await codeOf(loadModel(manifest, tree))).toBe('version_mismatch');
  });

  it('refuses malformed JSON, schemas and tree shapes with clear codes', async () => {
    const tree = JSON.parse(treeText) as TreeFile;
    expect(await codeOf(loadModel('{', treeText))).toBe('invalid_json');
    expect(await codeOf(loadModel(manifestText, '[]'))).toBe('invalid_tree');
    const cyclic = structuredClone(tree);
    const split = cyclic.nodes[0]!;
    if (split.type === 'split') split.left = 0;
    expect(await codeOf(loadModel(manifestText, cyclic))).toBe('invalid_tree');
    const unknownInput = structuredClone(tree);
    if (unknownInput.nodes[0]!.type === 'split') unknownInput.nodes[0]!.input = 'salary';
    await expect(loadModel(manifestText, unknownInput)).rejects.toThrow(/unknown input salary/);
    const dangling = structuredClone(tree);
    if (dangling.nodes[0]!.type === 'split') dangling.nodes[0]!.right = 999;
    expect(await codeOf(loadModel(manifestText, dangling))).toBe('invalid_tree');
  });

  it('checks the manifest against the feature schema', () => {
    const manifest = JSON.parse(manifestText);
    expect(parseManifest(manifest).modelVersion).toBe(manifest.modelVersion);
    const wide = structuredClone(manifest);
    wide.inputs.find((i: { name: string }) => i.name === 'age').bits = 5;
    expect(() => parseManifest(wide)).toThrow(ModelError);
    const missing = structuredClone(manifest);
    missing.inputs = missing.inputs.filter((i: { name: string }) => i.name !== 'employed');
    expect(() => parseManifest(missing)).toThrow(/explanation assumes input employed, which is not an input/);
    const unread = structuredClone(manifest);
    unread.unreadInputs = ['mobile_phone'];
    expect(() => parseManifest(unread)).toThrow(/unread input mobile_phone is not an input/);
    const moved = structuredClone(manifest);
    moved.inputs.find((i: { name: string }) => i.name === 'account_age').party = 'applicant';
    expect(() => parseManifest(moved)).toThrow(/belongs to bank/);
    const badBins = structuredClone(manifest);
    badBins.explanation.bins[0].code = 4;
    expect(() => parseManifest(badBins)).toThrow(/does not quantize|increasing/);
  });

  it('publishes no training facts: the record and the salt are in the private tree file only', async () => {
    const manifest = JSON.parse(manifestText) as Record<string, unknown>;
    expect(Object.keys(manifest).sort()).toEqual(
      ['explanation', 'features', 'formatVersion', 'inputs', 'kind', 'labels', 'modelVersion', 'name', 'parameterSet'].sort(),
    );
    expect(manifestText).not.toMatch(/accuracy|precision|recall|approvalRate|heldOut|minSamplesLeaf|"seed"|"rows"/);
    // A manifest still carrying the record is refused, so none can be served by mistake.
    const leaky = { ...manifest, training: JSON.parse(treeText).training };
    expect(() => parseManifest(leaky)).toThrow(/training/);

    const model = await loadModel(manifestText, treeText);
    expect(model.tree.training).toMatchObject({ source: 'synthetic', seed: DEMO_RECIPE.seed, rows: DEMO_RECIPE.rows, heldOutRows: 4_000 });
    expect(model.tree.salt).toBe(DEMO_RECIPE.salt);
  });

  it('hashes the salt and the training record into the version', async () => {
    const tree = JSON.parse(treeText) as TreeFile;
    const manifest = parseManifest(manifestText);
    const resalted = { ...tree, salt: 'f'.repeat(64) };
    expect(await codeOf(loadModel(manifestText, resalted))).toBe('version_mismatch');
    expect(await computeModelVersion(manifest, resalted)).not.toBe(manifest.modelVersion);
    const flattered = structuredClone(tree);
    if (flattered.training.metrics) flattered.training.metrics.accuracy = 0.99;
    expect(await codeOf(loadModel(manifestText, flattered))).toBe('version_mismatch');
    expect(await codeOf(loadModel(manifestText, { ...tree, salt: 'not hex' }))).toBe('invalid_tree');
    expect(randomSalt()).toMatch(/^[0-9a-f]{64}$/);
    expect(randomSalt()).not.toBe(randomSalt());
  });

  it('hashes canonical JSON independently of key order', () => {
    expect(canonicalJson({ b: 1, a: [true, null, 'x'], c: { z: 0.5, y: -1 } })).toBe('{"a":[true,null,"x"],"b":1,"c":{"y":-1,"z":0.5}}');
    expect(() => canonicalJson({ x: Number.NaN })).toThrow(TypeError);
  });
});
