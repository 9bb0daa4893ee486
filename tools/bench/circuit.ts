/**
 * `circuit` section of `npm run bench`: bootstrap counts of the demo model's plan, and the wall
 * time of one decision + full explanation on real ciphertexts with 1 and 2 worker threads
 * (batched pool), and with 2 workers one bootstrap per request (`workers2Unbatched`), each the
 * median of `BENCH_CIRCUIT_RUNS` runs, default 3. Keys come from node-tfhe at bench time; every
 * run's decrypted result is checked against the cleartext model.
 */
import { readFileSync } from 'node:fs';
import * as tfhe from 'node-tfhe';
import { trainBoostedModel } from '../model/boost.ts';
import { explainEnsembleCodes } from '../../model/ensemble.ts';
import { explainCodes } from '../../model/infer.ts';
import type { Manifest } from '../../model/manifest.ts';
import { loadModel } from '../../model/private-model.ts';
import { quantizeParsed, toDigits } from '../../model/quantize.ts';
import { generateApplications } from '../model/synthetic.ts';
import { DEMO_RECIPE } from '../model/train.ts';
import { deserializeCompressedCiphertext, loadServerKey, type Ciphertext } from '../../fhe/index.ts';
import { compileCircuit, createPbsPool, runCircuit, simulateCircuit, type CircuitInputs } from '../../evaluator/circuit/index.ts';
import { decryptCiphertext } from '../../tests/support/decrypt.ts';

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const round = (v: number) => Math.round(v * 10) / 10;

export async function bench(): Promise<Record<string, unknown>> {
  const runs = Math.max(1, Number(process.env.BENCH_CIRCUIT_RUNS ?? 3));
  const artifact = (name: string) => readFileSync(new URL(`../../model/artifacts/${name}`, import.meta.url), 'utf8');
  const model = await loadModel(artifact('manifest.json'), artifact('tree.json'));
  const plan = compileCircuit(model);

  const applications = generateApplications(2_000, 4242);
  let t = performance.now();
  for (const { features } of applications) simulateCircuit(plan, quantizeParsed(model.manifest.inputs, features));
  const simulateUs = ((performance.now() - t) / applications.length) * 1000;

  const params = new tfhe.ShortintParameters(tfhe.ShortintParametersName.PARAM_MESSAGE_2_CARRY_2_KS_PBS_TUNIFORM_2M128);
  const clientKey = tfhe.Shortint.new_client_key(params);
  const serverKey = loadServerKey(tfhe.Shortint.serialize_compressed_server_key(tfhe.Shortint.new_compressed_server_key(clientKey)));

  const decrypt = (ct: Ciphertext) => decryptCiphertext(clientKey, ct);
  const encryptInputs = (manifest: Manifest, c: Record<string, number>) => {
    const out: Record<string, Record<string, Ciphertext[]>> = {};
    for (const input of manifest.inputs) {
      (out[input.party] ??= {})[input.name] = toDigits(c[input.name]!, input.digits).map((d) =>
        deserializeCompressedCiphertext(
          tfhe.Shortint.serialize_compressed_ciphertext(tfhe.Shortint.encrypt_compressed(clientKey, BigInt(d))),
          serverKey.params,
        ),
      );
    }
    return out as CircuitInputs;
  };

  // A denied applicant, so the explanation is the interesting kind; every applicant costs the same.
  const features = applications.find(
    (a) => simulateCircuit(plan, quantizeParsed(model.manifest.inputs, a.features)).decision === 0,
  )!.features;
  const codes = quantizeParsed(model.manifest.inputs, features);
  const inputs = encryptInputs(model.manifest, codes);
  const expected = explainCodes(model.tree, codes, model.manifest.explanation);

  const wall: Record<string, unknown> = {};
  // workers1, workers2: batched pool (the default); workers2Unbatched: one bootstrap per request.
  const configs = [
    { name: 'workers1', size: 1, maxBatch: 8 },
    { name: 'workers2', size: 2, maxBatch: 8 },
    { name: 'workers2Unbatched', size: 2, maxBatch: 1 },
  ];
  for (const { name, size, maxBatch } of configs) {
    const pool = createPbsPool({ size, maxBatch });
    try {
      // One warm-up run starts the workers and builds the lookup tables.
      await runCircuit({ plan, serverKey, inputs, pool, publicKeyParties: new Set() });
      const ms: number[] = [];
      for (let i = 0; i < runs; i++) {
        t = performance.now();
        const r = await runCircuit({ plan, serverKey, inputs, pool, publicKeyParties: new Set() });
        ms.push(performance.now() - t);
        const got = { decision: decrypt(r.decision), bits: r.explanation.map(decrypt) };
        if (JSON.stringify(got) !== JSON.stringify(expected)) throw new Error('encrypted result differs from the model');
      }
      wall[name] = { medianMs: round(median(ms)), runsMs: ms.map(round) };
    } finally {
      await pool.close();
    }
  }

  const ensemble = await benchEnsemble(runs, applications, serverKey, encryptInputs, decrypt);

  return {
    modelVersion: plan.modelVersion,
    parameterSet: 'tuniform',
    tree: {
      nodes: model.tree.nodes.length,
      leaves: model.tree.nodes.filter((n) => n.type === 'leaf').length,
    },
    pbsPerDecision: plan.stats.pbsDecision,
    pbsPerDecisionAndExplanation: plan.stats.pbs,
    pbsForExplanation: plan.stats.pbsExplanation,
    explanationBins: plan.explanationBins.length,
    pbsCriticalPath: plan.stats.pbsDepth,
    leafClass: plan.stats.leafClass,
    simulateMicrosecondsPerApplicant: round(simulateUs),
    decisionAndExplanationWall: wall,
    targetMsWith2Workers: 350,
    heldOut: model.tree.training.metrics,
    ensemble,
  };
}

/**
 * `circuit.ensemble`: a 20-tree depth-4 boosted ensemble (`tools/model/boost.ts`, trained on the demo's
 * synthetic data): bootstraps, and the wall time of one decision + explanation with 2 workers
 * (median of `runs`, one applicant each), each result checked against the cleartext ensemble.
 */
async function benchEnsemble(
  runs: number,
  applications: ReturnType<typeof generateApplications>,
  serverKey: ReturnType<typeof loadServerKey>,
  encryptInputs: (manifest: Manifest, codes: Record<string, number>) => CircuitInputs,
  decrypt: (ct: Ciphertext) => number,
): Promise<Record<string, unknown>> {
  const { model, metrics } = await trainBoostedModel(generateApplications(DEMO_RECIPE.rows, DEMO_RECIPE.seed), {
    trees: 20,
    maxDepth: 4,
    salt: DEMO_RECIPE.salt,
  });
  let t = performance.now();
  const plan = compileCircuit(model);
  const compileMs = performance.now() - t;
  // Each run a different applicant, freshly encrypted and checked: BENCH_CIRCUIT_RUNS=20 checks 20.
  const pool = createPbsPool({ size: 2 });
  const ms: number[] = [];
  try {
    for (let i = 0; i <= runs; i++) {
      const codes = quantizeParsed(model.manifest.inputs, applications[i]!.features);
      const inputs = encryptInputs(model.manifest, codes);
      const expected = explainEnsembleCodes(model.ensemble, codes, model.manifest.explanation);
      t = performance.now();
      const r = await runCircuit({ plan, serverKey, inputs, pool, publicKeyParties: new Set() });
      // Run 0 warms the workers and builds the lookup tables.
      if (i > 0) ms.push(performance.now() - t);
      const got = { decision: decrypt(r.decision), bits: r.explanation.map(decrypt) };
      if (JSON.stringify(got) !== JSON.stringify(expected))
        throw new Error('encrypted ensemble result differs from the cleartext ensemble');
    }
  } finally {
    await pool.close();
  }
  return {
    trees: model.ensemble.trees.length,
    maxDepth: 4,
    leaves: model.ensemble.trees.reduce((s, tr) => s + tr.nodes.filter((n) => n.type === 'leaf').length, 0),
    pbs: plan.stats.pbs,
    pbsDecision: plan.stats.pbsDecision,
    pbsExplanation: plan.stats.pbsExplanation,
    pbsCriticalPath: plan.stats.pbsDepth,
    compileMs: round(compileMs),
    decisionAndExplanationMs: round(median(ms)),
    runsMs: ms.map(round),
    targetMsWith2Workers: 3000,
    heldOutAccuracy: metrics.accuracy,
    encryptedApplicantsChecked: runs + 1,
  };
}
