/**
 * One session, several checks, through the gateway in workerd and the real evaluator: each run
 * has its own id and its own inputs, and decrypts to the cleartext model's answer for them; the
 * key is uploaded and expanded once; runs per session are capped per tenant. And a key the
 * evaluator refuses: the refusal is final (never retried, never forwarded again) and a corrected
 * key makes the session usable.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PARTY_FEATURES, type CreditFeatures } from '../../model/features.ts';
import type { Manifest } from '../../model/manifest.ts';
import { RunResponse } from '../../protocol/public-api.ts';
import { patched } from '../support/bytes.ts';
import { loadPublicKeyTestKeys } from '../support/tfhe-keys.ts';
import { bearer, createSession, expectError, getManifest, putJson, putOctets, type Session, sessionStatus } from './support/client.ts';
import { freePort, startEvaluatorProcess, type EvaluatorProcess } from './support/evaluator.ts';
import { startGateway, type TestGateway } from './support/gateway.ts';
import { encryptPartyInputs, sampleApplication } from './support/inputs.ts';
import { expectResultMatchesModel, readProgress, runAndFollow, uploadSession } from './support/sessions.ts';
import { testTenants } from './support/tenants.ts';

const keys = loadPublicKeyTestKeys('tuniform');
const MAX_RUNS = 2;

let gw: TestGateway;
let evaluator: EvaluatorProcess;
let manifest: Manifest;

beforeAll(async () => {
  const port = await freePort();
  evaluator = await startEvaluatorProcess(port);
  gw = await startGateway({ evaluatorUrl: evaluator.url, tenants: testTenants({ acme: { maxRunsPerSession: MAX_RUNS } }) });
  manifest = await getManifest(gw);
});
afterAll(async () => {
  await evaluator?.stop();
  await gw?.dispose();
});

const run = (s: Session) => gw.fetch(`/v1/sessions/${s.sessionId}/run`, { method: 'POST', headers: bearer(s.token) });
const status = (s: Session) => sessionStatus(gw, s);

/** The application with the applicant's own answers taken from `answers` (the bank's and bureau's data stay). */
function withApplicantAnswers(base: CreditFeatures, answers: CreditFeatures): CreditFeatures {
  const own = Object.keys(PARTY_FEATURES.applicant.shape) as (keyof CreditFeatures)[];
  return { ...base, ...Object.fromEntries(own.map((k) => [k, answers[k]])) };
}

describe('one session, several checks', () => {
  test('each run uses the inputs current when it was requested and gives its own correct decision; the cap holds', async () => {
    const first = sampleApplication(3);
    const s = await createSession(gw, 'acme');
    await uploadSession(gw, manifest, keys, s, first);

    const started = await run(s);
    expect(started.status).toBe(202);
    const run1 = RunResponse.parse(await started.json());
    expect(run1.runNumber).toBe(1);
    expect((await readProgress(gw, s)).at(-1)).toMatchObject({ state: 'done', runId: run1.runId, runNumber: 1 });
    expect(await expectResultMatchesModel(gw, manifest, keys, s, first, run1.runId)).toBe(run1.runId);
    // Asked again with nothing new: the same run, not a new one.
    const repeat = await run(s);
    expect(repeat.status).toBe(200);
    expect(RunResponse.parse(await repeat.json())).toMatchObject({ runId: run1.runId, runNumber: 1 });

    // The applicant changes their answers: only their inputs are uploaded again.
    const second = withApplicantAnswers(first, sampleApplication(21));
    const upload = await putJson(
      gw,
      `/v1/sessions/${s.sessionId}/inputs/applicant`,
      bearer(s.token),
      encryptPartyInputs(manifest, 'applicant', keys.clientKey, second),
    );
    expect(upload.status).toBe(201);
    // This time as the widget does it: the run request answers with the run's progress stream.
    const events = await runAndFollow(gw, s);
    const run2 = { runId: events[0]!.runId!, runNumber: events[0]!.runNumber };
    expect(events[0]).toMatchObject({ state: 'running', runNumber: 2 });
    expect(run2.runId).not.toBe(run1.runId);
    expect(events.every((e) => e.runId === run2.runId)).toBe(true);
    expect(events.at(-1)).toMatchObject({ state: 'done', runNumber: 2, serverKey: 'ready' });
    expect(events.results.at(-1)?.runId).toBe(run2.runId);
    expect(await status(s)).toMatchObject({ runs: { runId: run2.runId, runNumber: 2 } });
    await expectResultMatchesModel(gw, manifest, keys, s, second, run2.runId);
    // Run 1's result is never served for run 2.
    const stale = await expectError(
      await gw.fetch(`/v1/sessions/${s.sessionId}/result?runId=${run1.runId}`, { headers: bearer(s.token) }),
      409,
      'run_superseded',
    );
    expect(stale.details).toEqual({ runId: run2.runId });
    expect(await status(s)).toMatchObject({
      state: 'done',
      serverKey: { evaluator: 'ready' },
      runs: { runId: run2.runId, runNumber: 2, maxRuns: MAX_RUNS },
    });

    // A third check is past this tenant's cap.
    const third = withApplicantAnswers(first, sampleApplication(5));
    expect(
      (
        await putJson(
          gw,
          `/v1/sessions/${s.sessionId}/inputs/applicant`,
          bearer(s.token),
          encryptPartyInputs(manifest, 'applicant', keys.clientKey, third),
        )
      ).status,
    ).toBe(201);
    const capped = await expectError(await run(s), 429, 'run_limit_reached');
    expect(capped).toMatchObject({ retriable: false, details: { maxRuns: MAX_RUNS } });
    // Asked for the stream, a refusal is still a JSON error.
    const streamed = await gw.fetch(`/v1/sessions/${s.sessionId}/run`, {
      method: 'POST',
      headers: { ...bearer(s.token), accept: 'text/event-stream' },
    });
    expect(streamed.headers.get('content-type')).toContain('application/json');
    await expectError(streamed, 429, 'run_limit_reached');
    // The last result is still the last run's.
    await expectResultMatchesModel(gw, manifest, keys, s, second, run2.runId);
  }, 600_000);
});

describe('a key the evaluator refuses', () => {
  test('the refusal is final, the key is not sent again, and a corrected key makes the session usable', async () => {
    const key = keys.compressedServerKeyBytes;
    // Well-formed to the frame checks, refused by the engine when it expands the key: its max noise level is 0.
    const refusedByEngine = patched(key, key.length - 8, 0n);
    const features = sampleApplication(7);
    const s = await createSession(gw, 'acme');
    expect((await putOctets(gw, `/v1/sessions/${s.sessionId}/server-key`, bearer(s.token), refusedByEngine)).status).toBe(201);
    await uploadSession(gw, manifest, keys, s, features, { serverKey: false });

    const started = await run(s);
    if (started.status !== 202) await expectError(started, 422, 'invalid_server_key');
    else
      expect((await readProgress(gw, s)).at(-1)).toMatchObject({
        state: 'failed',
        serverKey: 'failed',
        run: { error: { code: 'invalid_server_key', retriable: false } },
      });
    expect((await status(s)).serverKey.evaluator).toBe('failed');
    // Final: a retry is refused at once, and the same key again too.
    expect((await expectError(await run(s), 422, 'invalid_server_key')).retriable).toBe(false);
    await expectError(
      await putOctets(gw, `/v1/sessions/${s.sessionId}/server-key`, bearer(s.token), refusedByEngine),
      422,
      'invalid_server_key',
    );

    // A corrected key replaces it; the next run uses it.
    expect((await putOctets(gw, `/v1/sessions/${s.sessionId}/server-key`, bearer(s.token), key)).status).toBe(201);
    const fixed = await run(s);
    expect(fixed.status).toBe(202);
    const runId = RunResponse.parse(await fixed.json()).runId;
    expect((await readProgress(gw, s)).at(-1)).toMatchObject({ state: 'done', runId });
    await expectResultMatchesModel(gw, manifest, keys, s, features, runId);
  }, 600_000);
});
