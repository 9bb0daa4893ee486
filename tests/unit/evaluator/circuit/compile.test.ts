import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileCircuit } from '../../../../evaluator/circuit/compile.ts';
import { CircuitError } from '../../../../evaluator/circuit/errors.ts';
import { checkPlan, type CircuitPlan } from '../../../../evaluator/circuit/plan.ts';
import { simulateCircuit } from '../../../../evaluator/circuit/simulate.ts';
import { YEARS_EMPLOYED_BINS } from '../../../../model/features.ts';
import { explainCodes, readExplanation, seedExplanation } from '../../../../model/infer.ts';
import { loadModel, type Model, type TreeNode } from '../../../../model/private-model.ts';
import { quantizeParsed, quantizerLevels } from '../../../../model/quantize.ts';
import { createRng, type Rng } from '../../../../tools/model/random.ts';
import { generateApplications } from '../../../../tools/model/synthetic.ts';

const artifact = (name: string) => readFileSync(new URL(`../../../../model/artifacts/${name}`, import.meta.url), 'utf8');
const demo = await loadModel(artifact('manifest.json'), artifact('tree.json'));

function expectSameAsReference(plan: CircuitPlan, model: Model, codes: Record<string, number>) {
  const sim = simulateCircuit(plan, codes);
  const ref = explainCodes(model.tree, codes, model.manifest.explanation);
  expect({ decision: sim.decision, bits: sim.explanation }).toEqual(ref);
  expect(sim.pbs).toBe(plan.stats.pbs);
}

/** A random tree over the manifest's inputs: depth up to `maxDepth`, leaves with random decisions. */
function randomTree(rng: Rng, model: Model, maxDepth: number): TreeNode[] {
  const inputs = model.manifest.inputs.filter((i) => quantizerLevels(i.quantizer) >= 2);
  const nodes: TreeNode[] = [];
  const grow = (depth: number): number => {
    const i = nodes.length;
    if (depth >= maxDepth || (depth > 0 && rng.chance(0.2))) {
      nodes.push({ type: 'leaf', decision: rng.chance(0.5) ? 1 : 0, samples: 0 });
      return i;
    }
    // Favour the explanation input so folding and pruning are exercised.
    const input = rng.chance(0.3) ? model.manifest.explanation.input : inputs[rng.int(inputs.length)]!.name;
    const levels = quantizerLevels(model.manifest.inputs.find((x) => x.name === input)!.quantizer);
    nodes.push({ type: 'split', input, threshold: rng.int(levels - 1), left: 0, right: 0 });
    const left = grow(depth + 1);
    const right = grow(depth + 1);
    nodes[i] = { ...(nodes[i] as TreeNode & { type: 'split' }), left, right };
    return i;
  };
  grow(0);
  return nodes;
}

function randomCodes(rng: Rng, model: Model): Record<string, number> {
  return Object.fromEntries(model.manifest.inputs.map((i) => [i.name, rng.int(quantizerLevels(i.quantizer))]));
}

describe('circuit compiler and simulator', () => {
  it('matches the reference tree on 2,500 generated applicants, decision and every explanation bit', () => {
    const plan = compileCircuit(demo);
    const rows = generateApplications(2_500, 777);
    let approved = 0;
    let suggested = 0;
    for (const { features } of rows) {
      const codes = quantizeParsed(demo.manifest.inputs, features);
      expectSameAsReference(plan, demo, codes);
      const sim = simulateCircuit(plan, codes);
      const outcome = readExplanation(sim.decision, sim.explanation, plan.explanationBins);
      // The one-pass explanation reads the same as the seed's bin-by-bin loop.
      expect(outcome).toEqual(seedExplanation(demo.manifest, demo.tree, features, YEARS_EMPLOYED_BINS));
      if (outcome.kind === 'approved') approved++;
      if (outcome.kind === 'suggest') suggested++;
    }
    // The sample must exercise all three outcomes.
    expect(approved).toBeGreaterThan(1_000);
    expect(suggested).toBeGreaterThan(50);
    expect(rows.length - approved - suggested).toBeGreaterThan(20);
  });

  it('is exact with either leaf class, for random trees up to depth 8 (paths longer than the noise budget)', () => {
    const rng = createRng(99);
    for (let t = 0; t < 100; t++) {
      const model: Model = { manifest: demo.manifest, tree: { ...demo.tree, nodes: randomTree(rng, demo, 1 + (t % 8)) } };
      for (const leafClass of ['approve', 'deny'] as const) {
        const plan = compileCircuit(model, { leafClass });
        for (let k = 0; k < 40; k++) expectSameAsReference(plan, model, randomCodes(rng, model));
      }
    }
  });

  it('handles constant trees and trees on the explanation input only', () => {
    for (const decision of [0, 1] as const) {
      const model: Model = { manifest: demo.manifest, tree: { ...demo.tree, nodes: [{ type: 'leaf', decision, samples: 1 }] } };
      const plan = compileCircuit(model);
      expect(plan.stats.pbsDecision).toBe(0);
      for (let y = 0; y < 6; y++) expectSameAsReference(plan, model, { ...randomCodes(createRng(y), model), years_employed: y });
    }
    const yearsOnly: Model = {
      manifest: demo.manifest,
      tree: {
        ...demo.tree,
        nodes: [
          { type: 'split', input: 'years_employed', threshold: 2, left: 1, right: 2 },
          { type: 'leaf', decision: 0, samples: 1 },
          { type: 'leaf', decision: 1, samples: 1 },
        ],
      },
    };
    const plan = compileCircuit(yearsOnly);
    for (let y = 0; y < 6; y++) expectSameAsReference(plan, yearsOnly, { ...randomCodes(createRng(y), yearsOnly), years_employed: y });
  });

  it('keeps every value within tfhe-rs limits and shares comparisons', () => {
    const plan = compileCircuit(demo);
    checkPlan(plan);
    for (const m of plan.metadata) {
      expect(m.degree).toBeLessThanOrEqual(15);
      expect(m.noise).toBeLessThanOrEqual(5);
    }
    const pbsKeys = plan.ops.filter((o) => o.op === 'pbs').map((o) => JSON.stringify(o));
    expect(new Set(pbsKeys).size).toBe(pbsKeys.length);
    // Decision: one PBS per distinct comparison plus one per summed leaf, at most.
    const splits = new Set(demo.tree.nodes.flatMap((n) => (n.type === 'split' ? [`${n.input}:${n.threshold}`] : [])));
    const leaves = demo.tree.nodes.filter((n) => n.type === 'leaf').length;
    expect(plan.stats.pbsDecision).toBeLessThanOrEqual(splits.size + leaves);
    expect(plan.stats.pbs).toBe(plan.stats.pbsDecision + plan.stats.pbsExplanation);
  });

  it('refuses a plan whose metadata was tampered with, and inputs that do not fit', () => {
    const plan = compileCircuit(demo);
    const metadata = plan.metadata.map((m, i) => (i === plan.outputs.decision ? { ...m, noise: m.noise + 1 } : m));
    expect(() => checkPlan({ ...plan, metadata })).toThrow(CircuitError);
    const codes = randomCodes(createRng(1), demo);
    expect(() => simulateCircuit(plan, { ...codes, years_employed: 16 })).toThrow(/does not fit/);
    const { age: _age, ...missing } = codes;
    expect(() => simulateCircuit(plan, missing)).toThrow(/no code for input age/);
  });
});
