/**
 * `npm run bench` section `service`: whole sessions through the evaluator's HTTP API on loopback
 * (signed requests, streamed key upload, three parties' inputs, run, progress, result, delete),
 * against the production bundle run as its own process (`node main.js`, as in the image), so the
 * memory figures are the service's alone: the bench's own node-tfhe keys and encryptions are in
 * another process. Client-side encryption happens before any clock starts.
 *
 * Memory is the process's resident set (`VmRSS` in `/proc/<pid>/status`, worker threads
 * included), sampled every 10 ms:
 *
 * - `rssIdleMB`: after one warm-up session (worker threads started, wasm compiled) was deleted
 *   and the figure settled: the service warm and idle, holding no session.
 * - `steps`: one session alone, each step's RSS over that idle figure: key uploaded, key expanded
 *   (when the service logs it), inputs uploaded, peak during the run, after the result, after
 *   delete, and the session's overall peak.
 * - Per scenario (1 and 2 concurrent runs; `BENCH_SERVICE_SESSIONS` sessions each, default 4,
 *   with that many in flight): `peakRssPerSessionMB` = (peak RSS − idle) / sessions in flight,
 *   and `retainedMB` = RSS once every session was deleted − idle (memory not given back).
 *
 * Figures are noisy when other work shares the machine; RSS is not, much.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tfhe from 'node-tfhe';
import { bytesToBase64, type Party, type PartyInputs } from '../../protocol/ciphertexts.ts';
import { evaluatorPath, fetchEvaluatorIdentity, importSharedSecret, signEvaluatorRequest } from '../../protocol/evaluator-api.ts';
import { sha256Hex } from '../../protocol/bytes.ts';
import { loadModel, type Model } from '../../model/private-model.ts';
import { quantizerLevels } from '../../model/quantize.ts';
import { loadTestKeys } from '../../tests/support/tfhe-keys.ts';
import { buildEvaluator } from '../../evaluator/service/build.ts';

const SECRET = 'bench-shared-secret-not-for-production-000';
const PARTIES: readonly Party[] = ['applicant', 'bank', 'bureau'];
const DIST = fileURLToPath(new URL('../../evaluator/dist', import.meta.url));
const MB = 2 ** 20;
const mb = (bytes: number) => Math.round(bytes / MB);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resident bytes of a process, worker threads included (Linux). */
function rssOf(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}

/** Samples a process's RSS; `peak()` is the largest since the last `reset()`. */
function rssSampler(pid: number) {
  let peak = rssOf(pid);
  const sample = () => (peak = Math.max(peak, rssOf(pid)));
  const timer = setInterval(sample, 10);
  return {
    reset: () => (peak = rssOf(pid)),
    peak: sample,
    stop: () => clearInterval(timer),
  };
}

/** Waits until RSS changes by < 1 MB over 500 ms (deferred collections done), at most 10 s. */
async function settledRss(pid: number): Promise<number> {
  let last = rssOf(pid);
  for (let i = 0; i < 20; i++) {
    await sleep(500);
    const now = rssOf(pid);
    if (Math.abs(now - last) < MB) return now;
    last = now;
  }
  return last;
}

function encryptInputs(model: Model, clientKey: tfhe.ShortintClientKey, seed: number): PartyInputs[] {
  let s = seed;
  const next = () => (s = (s * 1103515245 + 12345) % 2 ** 31);
  return PARTIES.map((party) => {
    const inputs: Record<string, string[]> = {};
    for (const input of model.manifest.inputs.filter((i) => i.party === party)) {
      const code = next() % quantizerLevels(input.quantizer);
      inputs[input.name] = Array.from({ length: input.digits }, (_, d) =>
        bytesToBase64(
          tfhe.Shortint.serialize_compressed_ciphertext(tfhe.Shortint.encrypt_compressed(clientKey, BigInt((code >> (2 * d)) & 3))),
        ),
      );
    }
    return { modelVersion: model.manifest.modelVersion, party, encoding: 'shortint-compressed', inputs };
  });
}

/** The bundled evaluator as a child process, its JSON log lines and signed requests to it. */
async function startService(bundleDir: string, concurrency: number) {
  const child: ChildProcess = spawn(process.execPath, [join(bundleDir, 'main.js')], {
    env: {
      PATH: process.env.PATH ?? '',
      EVALUATOR_SHARED_SECRET: SECRET,
      EVALUATOR_PORT: '0',
      EVALUATOR_POOL_SIZE: String(availableParallelism()),
      EVALUATOR_MAX_CONCURRENT_RUNS: String(concurrency),
      EVALUATOR_LOG_LEVEL: 'info',
      // As evaluator/Dockerfile sets it (see there).
      MALLOC_MMAP_THRESHOLD_: '131072',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const logs: { msg?: string; sessionId?: string; url?: string }[] = [];
  let partial = '';
  child.stdout!.on('data', (d: Buffer) => {
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop()!;
    for (const line of lines) if (line.startsWith('{')) logs.push(JSON.parse(line) as (typeof logs)[number]);
  });
  const logged = async (msg: string, sessionId?: string) => {
    for (;;) {
      const line = logs.find((l) => l.msg === msg && (sessionId === undefined || l.sessionId === sessionId));
      if (line) return line;
      if (child.exitCode !== null) throw new Error(`the evaluator exited with ${child.exitCode}`);
      await sleep(10);
    }
  };
  const url = (await logged('evaluator listening')).url!;
  const key = await importSharedSecret(SECRET);
  const bootId = await fetchEvaluatorIdentity(key, (p) => fetch(url + p));
  const send = async (method: string, path: string, body?: Uint8Array<ArrayBuffer>, type?: string, hash?: string) => {
    const res = await fetch(url + path, {
      method,
      headers: {
        ...(await signEvaluatorRequest(key, {
          bootId,
          method,
          pathAndQuery: path,
          contentSha256: hash ?? (await sha256Hex(body ?? new Uint8Array(0))),
        })),
        ...(type ? { 'content-type': type } : {}),
      },
      ...(body ? { body } : {}),
    });
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return res;
  };
  const stop = async () => {
    child.kill('SIGTERM');
    if (child.exitCode === null) await once(child, 'exit');
  };
  return { pid: child.pid!, send, logged, stop };
}

type Service = Awaited<ReturnType<typeof startService>>;

async function scenario(bundleDir: string, model: Model, concurrency: number, sessions: number) {
  const keys = loadTestKeys('tuniform');
  const payloads = Array.from({ length: sessions + 2 }, (_, i) => encryptInputs(model, keys.clientKey, 1000 + i));
  const serverKey = keys.compressedServerKeyBytes as Uint8Array<ArrayBuffer>;
  const keyHash = await sha256Hex(serverKey);
  const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
  const service: Service = await startService(bundleDir, concurrency);
  const rss = rssSampler(service.pid);
  const { send } = service;

  /** One session end to end, as the gateway drives it; `mark` sees each step's end. */
  const session = async (i: number, mark: (step: string) => Promise<void> = async () => {}) => {
    const id = `bench-session-${concurrency}-${String(i).padStart(12, '0')}`;
    await send('PUT', evaluatorPath.session(id), json({ modelVersion: model.manifest.modelVersion }), 'application/json');
    await send('PUT', evaluatorPath.serverKey(id), serverKey, 'application/octet-stream', keyHash);
    await mark('keyUploaded');
    await mark('keyExpanded');
    for (const p of payloads[i]!) await send('PUT', evaluatorPath.inputs(id, p.party), json(p), 'application/json');
    await mark('inputsUploaded');
    await mark('runStarting');
    const startedRun = performance.now();
    await send('POST', evaluatorPath.run(id));
    await (await send('GET', evaluatorPath.progress(id))).text(); // ends with the final state
    const runMs = performance.now() - startedRun;
    await mark('runPeak');
    await (await send('GET', evaluatorPath.result(id))).json();
    await mark('resultFetched');
    await send('DELETE', evaluatorPath.session(id));
    await mark('deleted');
    return runMs;
  };

  try {
    const rssStart = rssOf(service.pid);
    // Warm-up: starts the worker threads and compiles their code, which later sessions share.
    await session(sessions);
    const idle = await settledRss(service.pid);

    // One session alone, step by step, over the idle figure.
    const steps: Record<string, number> = {};
    const stepId = `bench-session-${concurrency}-${String(sessions + 1).padStart(12, '0')}`;
    rss.reset();
    let overallPeak = 0;
    await session(sessions + 1, async (step) => {
      if (step === 'runStarting') {
        overallPeak = rss.peak();
        rss.reset(); // runPeak: from here to the end of the run
        return;
      }
      if (step === 'keyExpanded') await service.logged('server key expanded', stepId);
      const value = step === 'runPeak' ? rss.peak() : step === 'deleted' ? await settledRss(service.pid) : rssOf(service.pid);
      steps[`${step}MB`] = mb(value - idle);
    });
    steps.peakMB = mb(Math.max(overallPeak, rss.peak()) - idle);

    // `concurrency` sessions in flight at a time, as many clients would keep the evaluator busy.
    rss.reset();
    const t0 = performance.now();
    const runMs: number[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < sessions) runMs.push(await session(next++));
      }),
    );
    const wallMs = performance.now() - t0;
    const peak = rss.peak();
    const after = await settledRss(service.pid);
    return {
      sessions,
      wallSeconds: Math.round(wallMs / 100) / 10,
      sessionsPerMinute: Math.round((sessions / wallMs) * 60_000 * 10) / 10,
      medianRunMs: Math.round(runMs.sort((a, b) => a - b)[Math.floor(runMs.length / 2)]!),
      rssStartMB: mb(rssStart),
      rssIdleMB: mb(idle),
      steps,
      rssPeakMB: mb(peak),
      peakRssPerSessionMB: mb((peak - idle) / concurrency),
      retainedMB: mb(after - idle),
    };
  } finally {
    rss.stop();
    await service.stop();
  }
}

export async function bench(): Promise<Record<string, unknown>> {
  const model = await loadModel(
    await readFile('model/artifacts/manifest.json', 'utf8'),
    await readFile('model/artifacts/tree.json', 'utf8'),
  );
  const sessions = Number(process.env.BENCH_SERVICE_SESSIONS ?? 4);
  // Inside the repository (git-ignored `dist/`), so the bundle resolves its external packages.
  await mkdir(DIST, { recursive: true });
  const bundleDir = await mkdtemp(join(DIST, 'bench-'));
  try {
    await buildEvaluator(bundleDir);
    const one = await scenario(bundleDir, model, 1, sessions);
    const two = await scenario(bundleDir, model, 2, sessions);
    return {
      poolSize: availableParallelism(),
      concurrentRuns1: one,
      concurrentRuns2: two,
      peakRssPerSessionMB: Math.max(one.peakRssPerSessionMB, two.peakRssPerSessionMB),
      note:
        'the evaluator runs as its own process (production bundle); memory is its RSS over the warm idle figure. ' +
        'sessions/minute include key upload, pre-expansion, three input uploads, run and result; other processes on the machine add noise',
    };
  } finally {
    await rm(bundleDir, { recursive: true, force: true });
  }
}
