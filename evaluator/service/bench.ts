/**
 * `npm run bench` section `service`: whole sessions through the evaluator's HTTP API on loopback
 * (signed requests, streamed key upload, three parties' inputs, run, progress, result), with the
 * real circuit backend. Reports sessions per minute at 1 and 2 concurrent runs and the peak
 * resident memory per session. Client-side encryption happens before the clock starts.
 *
 * `BENCH_SERVICE_SESSIONS` (default 4) sets how many sessions each scenario runs, after one
 * unmeasured warm-up session. Peak RSS per session = (peak RSS during the scenario − RSS after
 * the warm-up) / sessions in flight; RSS counts the whole process, worker threads included.
 * Figures are noisy when other work shares the machine.
 */
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import * as tfhe from 'node-tfhe';
import { bytesToBase64, type Party, type PartyInputs } from '../../protocol/ciphertexts.ts';
import { evaluatorPath, importSharedSecret, sha256Hex, signEvaluatorRequest } from '../../protocol/evaluator-api.ts';
import { loadModel, type Model } from '../../model/manifest.ts';
import { quantizerLevels } from '../../model/quantize.ts';
import { loadTestKeys } from '../../tests/support/tfhe-keys.ts';
import { circuitBackend } from './circuit-backend.ts';
import { loadConfig } from './config.ts';
import { createLogger } from './log.ts';
import { startEvaluator } from './server.ts';

const SECRET = 'bench-shared-secret-not-for-production-000';
const PARTIES: readonly Party[] = ['applicant', 'bank', 'bureau'];

/** Samples this process's RSS (worker threads included) until stopped. */
function rssSampler() {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
  return { stop: () => (clearInterval(timer), Math.max(peak, process.memoryUsage.rss())) };
}

function encryptInputs(model: Model, clientKey: tfhe.ShortintClientKey, seed: number): PartyInputs[] {
  let s = seed;
  const next = () => (s = (s * 1103515245 + 12345) % 2 ** 31);
  return PARTIES.map((party) => {
    const inputs: Record<string, string[]> = {};
    for (const input of model.manifest.inputs.filter((i) => i.party === party)) {
      const code = next() % quantizerLevels(input.quantizer);
      inputs[input.name] = Array.from({ length: input.digits }, (_, d) =>
        bytesToBase64(tfhe.Shortint.serialize_compressed_ciphertext(tfhe.Shortint.encrypt_compressed(clientKey, BigInt((code >> (2 * d)) & 3)))),
      );
    }
    return { modelVersion: model.manifest.modelVersion, party, encoding: 'shortint-compressed', inputs };
  });
}

async function scenario(model: Model, concurrency: number, sessions: number) {
  const config = loadConfig({
    EVALUATOR_SHARED_SECRET: SECRET,
    EVALUATOR_PORT: '0',
    EVALUATOR_MAX_CONCURRENT_RUNS: String(concurrency),
    EVALUATOR_POOL_SIZE: String(availableParallelism()),
    EVALUATOR_LOG_LEVEL: 'warn',
  });
  const log = createLogger(config.logLevel);
  const ev = await startEvaluator({ config, backend: circuitBackend(model, { poolSize: config.poolSize, log }), log });
  const key = await importSharedSecret(SECRET);
  const keys = loadTestKeys('tuniform');
  const payloads = Array.from({ length: sessions + 1 }, (_, i) => encryptInputs(model, keys.clientKey, 1000 + i));
  const serverKey = keys.compressedServerKeyBytes as Uint8Array<ArrayBuffer>;
  const keyHash = await sha256Hex(serverKey);

  const send = async (method: string, path: string, body?: Uint8Array<ArrayBuffer>, type?: string, hash?: string) => {
    const res = await fetch(ev.url + path, {
      method,
      headers: {
        ...(await signEvaluatorRequest(key, { method, pathAndQuery: path, contentSha256: hash ?? (await sha256Hex(body ?? new Uint8Array(0))) })),
        ...(type ? { 'content-type': type } : {}),
      },
      ...(body ? { body } : {}),
    });
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return res;
  };
  const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

  // One session end to end, as the gateway drives it.
  const session = async (i: number) => {
    const id = `bench-session-${concurrency}-${String(i).padStart(12, '0')}`;
    await send('PUT', evaluatorPath.session(id), json({ modelVersion: model.manifest.modelVersion }), 'application/json');
    await send('PUT', evaluatorPath.serverKey(id), serverKey, 'application/octet-stream', keyHash);
    for (const p of payloads[i]!) await send('PUT', evaluatorPath.inputs(id, p.party), json(p), 'application/json');
    const startedRun = performance.now();
    await send('POST', evaluatorPath.run(id));
    await (await send('GET', evaluatorPath.progress(id))).text(); // ends with the final state
    const runMs = performance.now() - startedRun;
    await (await send('GET', evaluatorPath.result(id))).json();
    await send('DELETE', evaluatorPath.session(id));
    return runMs;
  };

  // Warm-up (not measured): starts the worker threads and compiles their code, which every
  // later session shares; the idle figure is taken after it.
  await session(sessions);
  await new Promise((r) => setTimeout(r, 500));
  const idle = process.memoryUsage.rss();
  const rss = rssSampler();
  const t0 = performance.now();
  // `concurrency` sessions in flight at a time, as many clients would keep the evaluator busy.
  const runMs: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < sessions) runMs.push(await session(next++));
    }),
  );
  const wallMs = performance.now() - t0;
  const peak = rss.stop();
  await ev.close();
  return {
    sessions,
    wallSeconds: Math.round(wallMs / 100) / 10,
    sessionsPerMinute: Math.round((sessions / wallMs) * 60_000 * 10) / 10,
    medianRunMs: Math.round(runMs.sort((a, b) => a - b)[Math.floor(runMs.length / 2)]!),
    rssIdleMB: Math.round(idle / 2 ** 20),
    rssPeakMB: Math.round(peak / 2 ** 20),
    // `concurrency` sessions are in flight at once, each with its key, expanded key and inputs.
    peakRssPerSessionMB: Math.round((peak - idle) / concurrency / 2 ** 20),
  };
}

export async function bench(): Promise<Record<string, unknown>> {
  const model = await loadModel(await readFile('model/artifacts/manifest.json', 'utf8'), await readFile('model/artifacts/tree.json', 'utf8'));
  const sessions = Number(process.env.BENCH_SERVICE_SESSIONS ?? 4);
  const one = await scenario(model, 1, sessions);
  const two = await scenario(model, 2, sessions);
  return {
    poolSize: availableParallelism(),
    concurrentRuns1: one,
    concurrentRuns2: two,
    peakRssPerSessionMB: Math.max(one.peakRssPerSessionMB, two.peakRssPerSessionMB),
    note: 'sessions/minute include key upload, pre-expansion, three input uploads, run and result; other processes on the machine add noise',
  };
}
