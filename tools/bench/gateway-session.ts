/**
 * Gateway figures with real processes: the gateway in workerd (wrangler's dev server, local
 * Durable Objects and R2), the evaluator as a Node process on loopback, real node-tfhe keys.
 * Prints one JSON object:
 * - `serverKeyUploadMs`: streaming the 30 MB compressed server key through the gateway into R2;
 * - `runAfterUploadMs`: `POST …/run` right after the last upload → result readable (the design's
 *   "decision + full explanation, after inputs uploaded" figure, through the gateway);
 * - `runPreparedMs`: the same when the background hand-over to the evaluator had time to finish;
 * - `evaluatorDirectRunMs`: the prepared case against the evaluator directly (signed calls, no
 *   gateway), so `runPreparedMs - evaluatorDirectRunMs` is what the gateway adds.
 * Medians of `BENCH_RUNS` sessions (default 3). Timings on a shared machine are noisy.
 *
 * Run: `npm run bench:gateway`.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Manifest } from '../../model/manifest.ts';
import { PublicHeaders } from '../../protocol/public-api.ts';
import {
  evaluatorPath,
  importSharedSecret,
  fetchEvaluatorIdentity,
  signEvaluatorRequest,
  type SessionStatus as EvaluatorSessionStatus,
} from '../../protocol/evaluator-api.ts';
import { sha256Hex } from '../../protocol/bytes.ts';

import { loadTestKeys } from '../../tests/support/tfhe-keys.ts';
import { freePort, startEvaluatorProcess } from '../../tests/workerd/support/evaluator.ts';
import { TEST_SHARED_SECRET, startGateway, type TestGateway } from '../../tests/workerd/support/gateway.ts';
import { encryptPartyInputs, sampleApplication } from '../../tests/workerd/support/inputs.ts';
import { KEYS } from '../../tests/workerd/support/tenants.ts';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 3);
const keys = loadTestKeys('tuniform');

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function must(res: Promise<Response>, status: number[]): Promise<Response> {
  const r = await res;
  if (!status.includes(r.status)) throw new Error(`unexpected ${r.status}: ${await r.text()}`);
  return r;
}

async function session(gw: TestGateway, manifest: Manifest, settleMs: number) {
  const created = (await (
    await must(
      gw.fetch('/v1/sessions', {
        method: 'POST',
        headers: { [PublicHeaders.publishableKey]: KEYS.demo.publishable, origin: KEYS.demo.origin, 'content-type': 'application/json' },
        body: JSON.stringify({ modelVersion: manifest.modelVersion }),
      }),
      [201],
    )
  ).json()) as { sessionId: string; token: string };
  const auth = { authorization: `Bearer ${created.token}` };
  const base = `/v1/sessions/${created.sessionId}`;
  const t0 = performance.now();
  await must(
    gw.fetch(`${base}/server-key`, {
      method: 'PUT',
      headers: { ...auth, 'content-type': 'application/octet-stream' },
      body: keys.compressedServerKeyBytes as Uint8Array<ArrayBuffer>,
    }),
    [201],
  );
  const uploadMs = performance.now() - t0;
  const features = sampleApplication(5);
  for (const party of ['applicant', 'bank', 'bureau'] as const) {
    await must(
      gw.fetch(`${base}/inputs/${party}`, {
        method: 'PUT',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify(encryptPartyInputs(manifest, party, keys.clientKey, features)),
      }),
      [201],
    );
  }
  if (settleMs > 0) await new Promise((r) => setTimeout(r, settleMs));
  const t1 = performance.now();
  await must(gw.fetch(`${base}/run`, { method: 'POST', headers: auth }), [200, 202]);
  // The progress stream ends when the session is done (or failed).
  await (await must(gw.fetch(`${base}/progress`, { headers: auth }), [200])).text();
  await must(gw.fetch(`${base}/result`, { headers: auth }), [200]);
  const runMs = performance.now() - t1;
  await must(gw.fetch(base, { method: 'DELETE', headers: auth }), [204]);
  return { uploadMs, runMs };
}

/** The same session straight against the evaluator: the baseline the gateway adds to. */
async function direct(evaluatorUrl: string, manifest: Manifest): Promise<number> {
  const key = await importSharedSecret(TEST_SHARED_SECRET);
  const bootId = await fetchEvaluatorIdentity(key, (p) => fetch(`${evaluatorUrl}${p}`));
  const call = async (method: string, path: string, body?: string | Uint8Array<ArrayBuffer>, contentType?: string) => {
    const headers = await signEvaluatorRequest(key, {
      bootId,
      method,
      pathAndQuery: path,
      ...(body === undefined ? {} : { contentSha256: await sha256Hex(body) }),
    });
    const res = await fetch(`${evaluatorUrl}${path}`, {
      method,
      headers: { ...headers, ...(contentType ? { 'content-type': contentType } : {}) },
      body: body ?? null,
    });
    if (!res.ok) throw new Error(`evaluator ${method} ${path}: ${res.status} ${await res.text()}`);
    return res;
  };
  const id = randomBytes(16).toString('base64url'); // a session id as the gateway makes them: 128 random bits
  await call('PUT', evaluatorPath.session(id), JSON.stringify({ modelVersion: manifest.modelVersion }), 'application/json');
  await call('PUT', evaluatorPath.serverKey(id), keys.compressedServerKeyBytes as Uint8Array<ArrayBuffer>, 'application/octet-stream');
  const features = sampleApplication(5);
  for (const party of ['applicant', 'bank', 'bureau'] as const) {
    await call(
      'PUT',
      evaluatorPath.inputs(id, party),
      JSON.stringify(encryptPartyInputs(manifest, party, keys.clientKey, features)),
      'application/json',
    );
  }
  await new Promise((r) => setTimeout(r, 5_000)); // as in the prepared gateway case: key expanded
  const t = performance.now();
  await call('POST', evaluatorPath.run(id), '{}', 'application/json');
  for (;;) {
    const status = (await (await call('GET', evaluatorPath.session(id))).json()) as EvaluatorSessionStatus;
    if (status.run.state === 'succeeded') break;
    if (status.run.state === 'failed') throw new Error('direct run failed');
    await new Promise((r) => setTimeout(r, 20));
  }
  await (await call('GET', evaluatorPath.result(id))).text();
  const ms = performance.now() - t;
  await call('DELETE', evaluatorPath.session(id));
  return ms;
}

const port = await freePort();
const evaluator = await startEvaluatorProcess(port);
const gw = await startGateway({ evaluatorUrl: `http://127.0.0.1:${port}` });
try {
  const manifest = (await (
    await gw.fetch('/v1/manifest', { headers: { [PublicHeaders.publishableKey]: KEYS.demo.publishable } })
  ).json()) as Manifest;
  await session(gw, manifest, 0); // warm-up: workerd and evaluator code paths
  const cold: Awaited<ReturnType<typeof session>>[] = [];
  const prepared: Awaited<ReturnType<typeof session>>[] = [];
  const baseline: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    cold.push(await session(gw, manifest, 0));
    prepared.push(await session(gw, manifest, 5_000));
    baseline.push(await direct(evaluator.url, manifest));
  }
  process.stdout.write(
    `${JSON.stringify({
      bench: 'gateway-session',
      runs: RUNS,
      serverKeyBytes: keys.compressedServerKeyBytes.byteLength,
      serverKeyUploadMs: Math.round(median([...cold, ...prepared].map((s) => s.uploadMs))),
      runAfterUploadMs: Math.round(median(cold.map((s) => s.runMs))),
      runPreparedMs: Math.round(median(prepared.map((s) => s.runMs))),
      evaluatorDirectRunMs: Math.round(median(baseline)),
      targetRunMs: 3000,
    })}\n`,
  );
} finally {
  await gw.dispose();
  await evaluator.stop();
}
