/**
 * The bank's policy: the constrained trainer keeps it on any data, refuses the splits that would
 * break it, and `checkConstraints` / `npm run train -- --check` prove it on an artifact, naming
 * an example when it does not hold.
 */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { trainCart } from '../../../../tools/model/cart.ts';
import { checkConstraints, DEFAULT_POLICY, type ModelPolicy } from '../../../../tools/model/constraints.ts';
import { YEARS_EMPLOYED_BINS, type CreditFeatures } from '../../../../model/features.ts';
import { predictCodes } from '../../../../model/infer.ts';
import { loadModel, sealModel, serializeModelFile, type Model, type TreeNode } from '../../../../model/private-model.ts';
import { quantizeParsed } from '../../../../model/quantize.ts';
import { createRng } from '../../../../tools/model/random.ts';
import { generateApplications, type LabeledApplication } from '../../../../tools/model/synthetic.ts';
import { trainModel } from '../../../../tools/model/train.ts';
import { ROOT, train } from '../../../support/train-cli.ts';

const ARTIFACTS = join(ROOT, 'model', 'artifacts');
const POLICY: ModelPolicy = { ...DEFAULT_POLICY, incomeFloor: 8_000 };
const NONE: ModelPolicy = { increasing: [], protectedAge: null, incomeFloor: null };

/**
 * Applications labelled by a random rule that breaks the policy on purpose: income, account age,
 * years employed and employment each count for or against approval at random, and the old are
 * penalized; so an unconstrained tree learns violations the constrained one must avoid.
 */
function adversarialRows(seed: number): LabeledApplication[] {
  const rng = createRng(seed);
  const sign = () => (rng.chance(0.5) ? 1 : -1);
  const w = { income: sign(), account: sign(), years: sign(), employed: sign() };
  return generateApplications(3_000, seed).map(({ features: f }) => {
    const z =
      w.income * Math.log(f.total_income / 20_000) +
      (w.account * f.account_age) / 120 +
      (w.years * YEARS_EMPLOYED_BINS.indexOf(f.years_employed)) / 2 +
      (f.employed ? w.employed : 0) -
      (f.age >= 62 ? 1.5 : 0) +
      0.5 * rng.normal();
    return { features: f, approved: z > 0 ? 1 : 0 };
  });
}

/** Every applicant in `rows` with the decision of `model` and of the same applicant changed by `change`. */
function decisionsUnder(model: Model, rows: readonly LabeledApplication[], change: (f: CreditFeatures) => CreditFeatures) {
  const decide = (f: CreditFeatures) => predictCodes(model.tree, quantizeParsed(model.manifest.inputs, f));
  return rows.map(({ features }) => ({ before: decide(features), after: decide(change(features)) }));
}

describe('constrained CART', () => {
  it('keeps monotonicity, the protected age and the income floor on random data sets, where plain CART does not', async () => {
    let unconstrainedViolations = 0;
    for (const seed of [1, 2, 3, 4, 5]) {
      const rows = adversarialRows(seed);
      const options = { maxDepth: 6, minSamplesLeaf: 5, salt: '0'.repeat(64) };
      const { model } = await trainModel(rows, { ...options, policy: POLICY });
      const report = checkConstraints(model.manifest, model.tree, POLICY);
      expect(report.violations, `seed ${seed}`).toEqual([]);
      expect(report.counts.length).toBeGreaterThan(0);

      // The same property, applicant by applicant, without the box reasoning.
      const sample = rows.slice(0, 400);
      const up: ((f: CreditFeatures) => CreditFeatures)[] = [
        (f) => ({ ...f, total_income: f.total_income * 1.5 + 1_000 }),
        (f) => ({ ...f, account_age: Math.min(1_200, f.account_age + 60) }),
        (f) => ({ ...f, years_employed: YEARS_EMPLOYED_BINS[Math.min(5, YEARS_EMPLOYED_BINS.indexOf(f.years_employed) + 2)]! }),
        (f) => ({ ...f, employed: true }),
      ];
      for (const change of up) for (const d of decisionsUnder(model, sample, change)) expect(d.after).toBeGreaterThanOrEqual(d.before);
      const at61 = sample.map(({ features }) => ({ ...features, age: 61 }));
      for (const older of [62, 70, 85]) {
        for (const d of decisionsUnder(
          model,
          at61.map((features) => ({ features, approved: 1 })),
          (f) => ({ ...f, age: older }),
        )) {
          expect(d.after).toBeGreaterThanOrEqual(d.before);
        }
      }
      for (const d of decisionsUnder(model, sample, (f) => ({ ...f, total_income: 7_999 }))) expect(d.after).toBe(0);

      const plain = await trainModel(rows, { ...options, policy: NONE });
      unconstrainedViolations += checkConstraints(plain.model.manifest, plain.model.tree, POLICY).violations.length;
    }
    // The data sets do tempt a tree into violations: the check is not vacuous.
    expect(unconstrainedViolations).toBeGreaterThan(5);
  });

  it('refuses a split that lowers approval along a constrained feature, and keeps it when unconstrained', () => {
    // One feature, 4 codes; the low codes are approved, the high ones denied.
    const codes = Uint8Array.from({ length: 400 }, (_, i) => i % 4);
    const labels = Uint8Array.from(codes, (c) => (c <= 1 ? 1 : 0));
    const data = { codes: [codes], levels: [4], labels };
    const options = { maxDepth: 3, minSamplesLeaf: 5, classWeights: { denied: 1, approved: 1 } };
    const plain = trainCart(data, ['f'], options);
    expect(plain[0]).toMatchObject({ type: 'split', input: 'f', threshold: 1 });
    const constrained = trainCart(data, ['f'], { ...options, increasingFrom: [0] });
    expect(constrained).toHaveLength(1);
    expect(constrained[0]!.type).toBe('leaf');

    // From a threshold on: the split below it (code 0 apart) stays, the ones from it are refused.
    const labels2 = Uint8Array.from(codes, (c) => (c === 1 ? 1 : 0));
    const partly = trainCart({ codes: [codes], levels: [4], labels: labels2 }, ['age'], { ...options, increasingFrom: [1] });
    const decide = (code: number) => predictCodes({ nodes: partly }, { age: code });
    expect(decide(0)).toBe(0);
    expect(decide(2)).toBeGreaterThanOrEqual(decide(1));
    expect(decide(3)).toBeGreaterThanOrEqual(decide(1));
  });

  it('denies below the floor at the root, whatever the data says', () => {
    const income = Uint8Array.from({ length: 300 }, (_, i) => i % 6);
    const labels = new Uint8Array(300).fill(1);
    labels[0] = 0;
    const nodes = trainCart({ codes: [income], levels: [6], labels }, ['total_income'], {
      maxDepth: 4,
      minSamplesLeaf: 5,
      classWeights: { denied: 1, approved: 1 },
      floor: { feature: 0, below: 2 },
    });
    expect(nodes[0]).toMatchObject({ type: 'split', input: 'total_income', threshold: 1 });
    for (let c = 0; c < 6; c++) expect(predictCodes({ nodes }, { total_income: c })).toBe(c < 2 ? 0 : 1);
  });
});

/** The committed model with one leaf's decision flipped so approval falls with income, resealed. */
async function brokenDemo(): Promise<Model> {
  const model = await loadModel(readFileSync(join(ARTIFACTS, 'manifest.json'), 'utf8'), readFileSync(join(ARTIFACTS, 'tree.json'), 'utf8'));
  // Under the root (the income floor): the highest-income leaf (all rightmost turns) now denies.
  const nodes: TreeNode[] = structuredClone(model.tree.nodes);
  let i = 0;
  for (let node = nodes[0]!; node.type === 'split'; node = nodes[i]!) i = node.right;
  nodes[i] = { type: 'leaf', decision: 0, samples: 0 };
  const { modelVersion: _m, ...manifest } = model.manifest;
  const { modelVersion: _t, ...tree } = model.tree;
  return sealModel(manifest, { ...tree, nodes });
}

describe('checking an artifact', () => {
  it('finds the shipped model within its policy, and names an example in a broken one', async () => {
    const model = await loadModel(
      readFileSync(join(ARTIFACTS, 'manifest.json'), 'utf8'),
      readFileSync(join(ARTIFACTS, 'tree.json'), 'utf8'),
    );
    const training = model.tree.training;
    if (training.source === 'pmml') throw new Error('the demo model is trained');
    expect(training.policy).toEqual({
      increasing: ['total_income', 'account_age', 'years_employed', 'employed'],
      protectedAge: 62,
      incomeFloor: 8_000,
    });
    expect(checkConstraints(model.manifest, model.tree, training.policy!).violations).toEqual([]);

    const broken = await brokenDemo();
    const { violations } = checkConstraints(broken.manifest, broken.tree, training.policy!);
    const income = violations.find((v) => v.rule === 'increasing' && v.input === 'total_income');
    expect(income?.message).toMatch(/approval falls as total_income rises: with .* is approved but .*total_income.* is denied/);
  });

  it('npm run train -- --check passes on the shipped artifact and fails on a broken one with the violating example', async () => {
    const ok = train(['--check']);
    expect(ok.status, ok.stderr).toBe(0);
    const summary = JSON.parse(ok.stdout) as { constraints: { violations: number }; circuit: { pbsApplicantMode: number } };
    expect(summary.constraints.violations).toBe(0);
    expect(summary.circuit.pbsApplicantMode).toBeLessThanOrEqual(64);

    const dir = mkdtempSync(join(tmpdir(), 'blindscore-check-'));
    cpSync(ARTIFACTS, dir, { recursive: true });
    const broken = await brokenDemo();
    writeFileSync(join(dir, 'manifest.json'), serializeModelFile(broken.manifest));
    writeFileSync(join(dir, 'tree.json'), serializeModelFile(broken.tree));
    const refused = train(['--check', '--out', dir]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(
      /^constraint violated \(increasing, total_income\): approval falls as total_income rises: .* is approved but .* is denied/m,
    );
  });
});
