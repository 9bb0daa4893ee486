/**
 * A/B comparison of the engine's bootstrap against the engine of another git revision, for
 * optimization work on a shared machine: both engines run in this process on the same node-tfhe
 * keys, alternating run by run (A B, then B A), so they see the same load; the figures are
 * medians and minima of process CPU time per operation. Every result of both engines is
 * decrypted by node-tfhe, and the outputs of the two are compared bit for bit.
 *
 *   npx tsx evaluator/bench/pbs-ab.ts [baseRevision=HEAD]
 *   env: AB_SET=tuniform|gaussian (default tuniform), AB_RUNS (default 60),
 *        AB_VARIANT=plain|relaxed (B's kernel variant; default: the runtime's),
 *        AB_BATCH=n (also time B's programmableBootstrapBatch of n ciphertexts, per ciphertext)
 *
 * The base revision is `git archive`d into node_modules/.cache (so its imports resolve) and its
 * engine imported from there; B is the working tree. Prints one JSON object.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as tfhe from 'node-tfhe';
import { loadavg } from 'node:os';

type Engine = typeof import('../../fhe/index.ts');

const SETS = {
  tuniform: tfhe.ShortintParametersName.PARAM_MESSAGE_2_CARRY_2_KS_PBS_TUNIFORM_2M128,
  gaussian: tfhe.ShortintParametersName.V1_1_PARAM_MESSAGE_2_CARRY_2_KS_PBS_GAUSSIAN_2M128,
} as const;

const root = fileURLToPath(new URL('../..', import.meta.url));
const base = process.argv[2] ?? 'HEAD';
const setName = (process.env.AB_SET ?? 'tuniform') as keyof typeof SETS;
const runs = Math.max(10, Number(process.env.AB_RUNS ?? 60));
const variant = process.env.AB_VARIANT as 'plain' | 'relaxed' | undefined;
const batchSize = Math.max(0, Math.min(64, Number(process.env.AB_BATCH ?? 0)));
if (!(setName in SETS)) throw new Error(`AB_SET must be one of ${Object.keys(SETS).join(', ')}`);

/** Extracts the engine at `rev` next to node_modules and imports it. */
async function engineAt(rev: string): Promise<Engine> {
  const sha = execFileSync('git', ['rev-parse', '--verify', `${rev}^{commit}`], { cwd: root, encoding: 'utf8' }).trim();
  const dir = join(root, 'node_modules', '.cache', 'blindscore-pbs-ab', sha);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  // The whole tree (~2 MB): the engine may import shared modules from outside its folder.
  const tar = execFileSync('git', ['archive', '--format=tar', sha], { cwd: root, maxBuffer: 1 << 28 });
  execFileSync('tar', ['-x', '-C', dir], { input: tar });
  // The engine moved from evaluator/engine/ to fhe/.
  const entry = existsSync(join(dir, 'fhe', 'index.ts')) ? join(dir, 'fhe', 'index.ts') : join(dir, 'evaluator', 'engine', 'index.ts');
  return (await import(pathToFileURL(entry).href)) as Engine;
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[(s.length >> 1) - 1]! + s[s.length >> 1]!) / 2;
};
const round = (x: number) => Number(x.toFixed(2));

const engines: Record<'a' | 'b', Engine> = {
  a: await engineAt(base),
  b: (await import('../../fhe/index.ts')) as Engine,
};
if (variant !== undefined && !engines.b.selectKernelVariant(variant)) throw new Error(`the ${variant} kernels are unavailable`);
const clientKey = tfhe.Shortint.new_client_key(new tfhe.ShortintParameters(SETS[setName]));
const serverKeyBytes = tfhe.Shortint.serialize_compressed_server_key(tfhe.Shortint.new_compressed_server_key(clientKey));
const f = (v: number) => (v * 5 + 1) % 16;
// One encryption per message, parsed by each engine, so the two outputs must be the same bits.
const inputBytes = Array.from({ length: 4 }, (_, m) => tfhe.Shortint.serialize_ciphertext(tfhe.Shortint.encrypt(clientKey, BigInt(m))));
const lanes = (['a', 'b'] as const).map((name) => {
  const engine = engines[name];
  const key = engine.loadServerKey(serverKeyBytes);
  const lut = engine.createLookupTable(key.params, f);
  const inputs = inputBytes.map((bytes) => engine.deserializeCiphertext(bytes, key.params));
  return { name, engine, key, lut, inputs, pbs: [] as number[], ksPbs: [] as number[] };
});
const batchTimes: number[] = [];

// Revisions before `bootstrapKeyswitched` existed: KS-PBS only.
const pbsAlone = lanes.every((l) => typeof l.engine.bootstrapKeyswitched === 'function');
let wrong = 0;
let differing = 0;
for (let r = -4; r < runs; r++) {
  const m = ((r % 4) + 4) % 4;
  const order = r % 2 === 0 ? lanes : [...lanes].reverse();
  const outputs: Uint32Array[] = [];
  for (const lane of order) {
    const { engine, key, lut } = lane;
    const results = [];
    if (pbsAlone) {
      const small = engine.keyswitchCiphertext(key, lane.inputs[m]!).slice();
      const c = cpuMs();
      results.push(engine.bootstrapKeyswitched(key, small, lut));
      if (r >= 0) lane.pbs.push(cpuMs() - c);
    }
    const c = cpuMs();
    const whole = engine.programmableBootstrap(key, lane.inputs[m]!, lut);
    if (r >= 0) lane.ksPbs.push(cpuMs() - c);
    results.push(whole);
    for (const ct of results) {
      const dec = tfhe.Shortint.decrypt(clientKey, tfhe.Shortint.deserialize_ciphertext(engine.serializeCiphertext(ct)));
      if (r >= 0 && Number(dec) !== f(m) % 4) wrong++;
    }
    outputs.push(whole.data);
  }
  if (r >= 0 && Buffer.compare(Buffer.from(outputs[0]!.buffer), Buffer.from(outputs[1]!.buffer)) !== 0) differing++;
  if (batchSize > 0) {
    const { engine, key, lut, inputs } = lanes[1]!;
    const cts = Array.from({ length: batchSize }, (_, i) => inputs[i % 4]!);
    const c = cpuMs();
    const outs = engine.programmableBootstrapBatch(
      key,
      cts,
      cts.map(() => lut),
    );
    if (r >= 0) batchTimes.push((cpuMs() - c) / batchSize);
    outs.forEach((ct, i) => {
      const dec = tfhe.Shortint.decrypt(clientKey, tfhe.Shortint.deserialize_ciphertext(engine.serializeCiphertext(ct)));
      if (r >= 0 && Number(dec) !== f(i % 4) % 4) wrong++;
    });
  }
}

const summary = (xs: number[]) => (xs.length ? { cpuMsMedian: round(median(xs)), cpuMsMin: round(Math.min(...xs)) } : null);
const [a, b] = lanes as [(typeof lanes)[0], (typeof lanes)[0]];
process.stdout.write(
  `${JSON.stringify(
    {
      parameterSet: setName,
      runs,
      loadAverage: loadavg(),
      a: { revision: base, pbs: summary(a.pbs), ksPbs: summary(a.ksPbs) },
      b: {
        revision: 'working tree',
        kernelVariant: engines.b.kernelVariant(),
        pbs: summary(b.pbs),
        ksPbs: summary(b.ksPbs),
        ...(batchSize > 0 ? { batchSize, batchKsPbsPerCiphertext: summary(batchTimes) } : {}),
      },
      pbsMedianRatio: pbsAlone ? round(median(b.pbs) / median(a.pbs)) : null,
      ksPbsMedianRatio: round(median(b.ksPbs) / median(a.ksPbs)),
      outputsDiffering: differing,
      wrongDecryptions: wrong,
    },
    null,
    2,
  )}\n`,
);
