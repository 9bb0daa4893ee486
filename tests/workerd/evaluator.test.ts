/**
 * The whole path in real processes: the gateway in workerd, the real evaluator as a Node
 * process on loopback, real node-tfhe keys and ciphertexts. The decrypted decision and
 * explanation must equal the cleartext model's on the same application. Then: evaluator down →
 * retriable failure; evaluator back → the retry succeeds with nothing uploaded again.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Manifest } from '../../model/manifest.ts';
import { PublicHeaders } from '../../protocol/public-api.ts';
import { evaluatorPath, fetchEvaluatorIdentity, importSharedSecret, signEvaluatorRequest } from '../../protocol/evaluator-api.ts';
import { loadPublicKeyTestKeys } from '../support/tfhe-keys.ts';
import {
  bearer,
  createSession,
  expectError,
  getManifest,
  partyKey,
  putJson,
  putOctets,
  sessionStatus,
  statusPast,
} from './support/client.ts';
import { freePort, startEvaluatorProcess, type EvaluatorProcess } from './support/evaluator.ts';
import { TEST_SHARED_SECRET, startGateway, type TestGateway } from './support/gateway.ts';
import { encryptCompactInputs, sampleApplication } from './support/inputs.ts';
import { expectResultMatchesModel, readProgress, uploadSession } from './support/sessions.ts';
import { KEYS } from './support/tenants.ts';

// One secret behind the applicant's own inputs and the public key the parties encrypt with.
const keys = loadPublicKeyTestKeys('tuniform');

let gw: TestGateway;
let evaluator: EvaluatorProcess | undefined;
let port: number;
let manifest: Manifest;

beforeAll(async () => {
  port = await freePort();
  gw = await startGateway({ evaluatorUrl: `http://127.0.0.1:${port}` });
  manifest = await getManifest(gw);
});
afterAll(async () => {
  await evaluator?.stop();
  await gw?.dispose();
});

describe('with the real evaluator', () => {
  test('evaluator down: the run fails retriably; once it is back, a retry succeeds without re-uploading', async () => {
    const features = sampleApplication(3);
    const s = await createSession(gw, 'acme');
    await uploadSession(gw, manifest, keys, s, features);
    const run = () => gw.fetch(`/v1/sessions/${s.sessionId}/run`, { method: 'POST', headers: bearer(s.token) });

    const refused = await run();
    const down = await expectError(refused, 503, 'evaluator_unavailable');
    expect(down.retriable).toBe(true);
    // Unreachable names no wait: the gateway's default for a retriable 5xx.
    expect(refused.headers.get(PublicHeaders.retryAfter)).toBe('5');
    const failed = await sessionStatus(gw, s);
    expect(failed).toMatchObject({
      state: 'failed',
      attempts: 1,
      run: { state: 'failed', error: { code: 'evaluator_unavailable', retriable: true } },
    });
    const stored = (await gw.blobKeys(`sessions/${s.sessionId}/`)).sort();

    evaluator = await startEvaluatorProcess(port);
    const retried = await run();
    expect(retried.status).toBe(202);
    const events = await readProgress(gw, s);
    expect(events.at(-1)).toMatchObject({ state: 'done' }); // on failure the diff shows run.error
    await expectResultMatchesModel(gw, manifest, keys, s, features);
    const done = await sessionStatus(gw, s);
    expect(done).toMatchObject({ state: 'done', attempts: 2, run: { state: 'succeeded' } });
    // Nothing was uploaded again: the stored blobs are the same, plus the result.
    expect((await gw.blobKeys(`sessions/${s.sessionId}/`)).sort()).toEqual([...stored, `sessions/${s.sessionId}/result`].sort());
  });

  test('happy path: keys and inputs from three parties, progress stream, decrypted result equals the model', async () => {
    evaluator ??= await startEvaluatorProcess(port);
    const features = sampleApplication(21);
    const s = await createSession(gw, 'acme');
    await uploadSession(gw, manifest, keys, s, features);
    const progress = readProgress(gw, s);
    const started = await gw.fetch(`/v1/sessions/${s.sessionId}/run`, { method: 'POST', headers: bearer(s.token) });
    expect(started.status).toBe(202);
    const again = await gw.fetch(`/v1/sessions/${s.sessionId}/run`, { method: 'POST', headers: bearer(s.token) });
    expect([200, 202]).toContain(again.status);
    const events = await progress;
    expect(events[0]?.state).toMatch(/^(inputs|running)$/);
    expect(events.at(-1)).toMatchObject({ state: 'done', run: { state: 'succeeded', fraction: 1 } });
    const fractions = events.filter((e) => e.state === 'running').map((e) => e.run.fraction);
    expect(fractions).toEqual([...fractions].sort((a, b) => a - b));
    const runId = await expectResultMatchesModel(gw, manifest, keys, s, features);
    // The stream carried the run's result before its `done`: what `GET …/result` answers, no request needed.
    const result = await gw.fetch(`/v1/sessions/${s.sessionId}/result?runId=${runId}`, { headers: bearer(s.token) });
    expect(events.results).toEqual([await result.json()]);
    // Party keys never read results; an upload after the run is for the session's next run.
    await expectError(await gw.fetch(`/v1/sessions/${s.sessionId}/result`, { headers: partyKey(KEYS.acme.bank) }), 403, 'token_required');
    const next = await putJson(
      gw,
      `/v1/sessions/${s.sessionId}/inputs/bank`,
      partyKey(KEYS.acme.bank),
      encryptCompactInputs(manifest, 'bank', keys.compactPublicKeyBytes, sampleApplication(22)),
    );
    expect(next.status).toBe(201);
    // The evaluator keeps the session's key for later checks until the session is deleted.
    expect(await evaluatorStatus(s.sessionId)).toBe(200);
    expect((await gw.fetch(`/v1/sessions/${s.sessionId}`, { method: 'DELETE', headers: bearer(s.token) })).status).toBe(204);
    await expect.poll(() => evaluatorStatus(s.sessionId), { timeout: 30_000 }).toBe(404);
    expect(await gw.blobKeys(`sessions/${s.sessionId}/`)).toEqual([]);
  });

  test('the evaluator crashes mid-run: the session fails retriably; after a restart the retry succeeds', async () => {
    evaluator ??= await startEvaluatorProcess(port);
    const features = sampleApplication(33);
    const s = await createSession(gw, 'acme');
    await uploadSession(gw, manifest, keys, s, features);
    expect((await gw.fetch(`/v1/sessions/${s.sessionId}/run`, { method: 'POST', headers: bearer(s.token) })).status).toBe(202);
    await evaluator.kill();
    evaluator = undefined;
    const status = await statusPast(gw, s, ['running'], 30_000);
    expect(status).toMatchObject({ state: 'failed', run: { error: { code: 'evaluator_unavailable', retriable: true } } });
    evaluator = await startEvaluatorProcess(port);
    expect((await gw.fetch(`/v1/sessions/${s.sessionId}/run`, { method: 'POST', headers: bearer(s.token) })).status).toBe(202);
    expect((await readProgress(gw, s)).at(-1)).toMatchObject({ state: 'done' });
    await expectResultMatchesModel(gw, manifest, keys, s, features);
  });

  test('bytes that are not a server key are refused on upload (422, the field named), and never reach the evaluator', async () => {
    evaluator ??= await startEvaluatorProcess(port);
    const s = await createSession(gw, 'demo');
    const junk = crypto.getRandomValues(new Uint8Array(64 * 1024));
    const refused = await expectError(
      await putOctets(gw, `/v1/sessions/${s.sessionId}/server-key`, bearer(s.token), junk),
      422,
      'invalid_server_key',
    );
    expect(refused.details?.['field']).toEqual(expect.any(String));
    const status = await sessionStatus(gw, s);
    expect(status).toMatchObject({ state: 'created', serverKey: { received: false, evaluator: 'none' } });
    expect(await evaluatorStatus(s.sessionId)).toBe(404);
  });
});

/** The evaluator's own answer for a session id (signed as the gateway signs). */
async function evaluatorStatus(sessionId: string): Promise<number> {
  const path = evaluatorPath.session(sessionId);
  const key = await importSharedSecret(TEST_SHARED_SECRET);
  const bootId = await fetchEvaluatorIdentity(key, (p) => fetch(`http://127.0.0.1:${port}${p}`));
  const headers = await signEvaluatorRequest(key, { bootId, method: 'GET', pathAndQuery: path });
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers });
  await res.body?.cancel();
  return res.status;
}
