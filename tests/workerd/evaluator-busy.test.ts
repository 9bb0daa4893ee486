/**
 * A busy evaluator, in real processes: the gateway in workerd, the evaluator on loopback with two
 * run slots and no queue. Of three runs started together one is refused with the evaluator's
 * `queue_full`; the gateway answers 503 `evaluator_unavailable` with the evaluator's wait as its
 * `retry-after`, and the retry succeeds once a slot is free. Every other retriable answer carries
 * a `retry-after` too.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Manifest } from '../../model/manifest.ts';
import { PublicHeaders, SessionStatus } from '../../protocol/public-api.ts';
import { loadPublicKeyTestKeys } from '../support/tfhe-keys.ts';
import { bearer, createSession, expectError, getManifest, type Session } from './support/client.ts';
import { freePort, startEvaluatorProcess, type EvaluatorProcess } from './support/evaluator.ts';
import { startGateway, type TestGateway } from './support/gateway.ts';
import { sampleApplication } from './support/inputs.ts';
import { expectResultMatchesModel, readProgress, uploadSession } from './support/sessions.ts';

const keys = loadPublicKeyTestKeys('tuniform');
const SLOTS = 2;

let gw: TestGateway;
let evaluator: EvaluatorProcess | undefined;
let manifest: Manifest;

beforeAll(async () => {
  const port = await freePort();
  // No queue, and keys expand when their run starts: a run holds its slot for a whole expansion
  // plus the circuit, seconds longer than the runs take to be handed over together.
  [gw, evaluator] = await Promise.all([
    startGateway({ evaluatorUrl: `http://127.0.0.1:${port}` }),
    startEvaluatorProcess(port, {
      env: { EVALUATOR_MAX_CONCURRENT_RUNS: String(SLOTS), EVALUATOR_MAX_QUEUED_RUNS: '0', EVALUATOR_PREEXPAND_KEYS: 'false' },
    }),
  ]);
  manifest = await getManifest(gw);
});
afterAll(async () => {
  await evaluator?.stop();
  await gw?.dispose();
});

const run = (gw: TestGateway, s: Session) => gw.fetch(`/v1/sessions/${s.sessionId}/run`, { method: 'POST', headers: bearer(s.token) });

describe('a busy evaluator', () => {
  test("a full run queue: 503 evaluator_unavailable with the evaluator's retry-after; the retry succeeds", async () => {
    const sessions = await Promise.all(Array.from({ length: SLOTS + 1 }, () => createSession(gw, 'acme')));
    const features = sessions.map((_, i) => sampleApplication(50 + i));
    for (const [i, s] of sessions.entries()) await uploadSession(gw, manifest, keys, s, features[i]!);

    // All hand over at once (key, inputs, then the run); the last to ask finds both slots taken.
    const answers = await Promise.all(sessions.map((s) => run(gw, s)));
    expect(answers.map((r) => r.status).sort()).toEqual([...Array<number>(SLOTS).fill(202), 503]);
    const refusedAt = answers.findIndex((r) => r.status === 503);
    const refused = answers[refusedAt]!;
    for (const r of answers) if (r !== refused) await r.body?.cancel();

    const body = await expectError(refused, 503, 'evaluator_unavailable');
    expect(body).toMatchObject({ retriable: true, details: { evaluatorCode: 'queue_full', evaluatorStatus: 503 } });
    // The evaluator's wait: no run has ended yet, so its assumed 5 s run over 2 slots, rounded
    // up — not the gateway's own 5 s default for a retriable 5xx.
    expect(body.details?.['retryAfterSeconds']).toBe(3);
    expect(refused.headers.get(PublicHeaders.retryAfter)).toBe('3');

    // The refused session is failed with the evaluator's reason (no alarm poll during the
    // hand-over may replace it with the evaluator's idle run).
    const waiting = sessions[refusedAt]!;
    const status = SessionStatus.parse(
      await (await gw.fetch(`/v1/sessions/${waiting.sessionId}`, { headers: bearer(waiting.token) })).json(),
    );
    expect(status).toMatchObject({
      state: 'failed',
      run: {
        state: 'failed',
        error: { code: 'evaluator_unavailable', retriable: true, details: { evaluatorCode: 'queue_full', retryAfterSeconds: 3 } },
      },
    });

    // Once the accepted runs are done, the refused one is retried and succeeds.
    for (const s of sessions) if (s !== waiting) expect((await readProgress(gw, s)).at(-1)).toMatchObject({ state: 'done' });
    const retried = await run(gw, waiting);
    expect(retried.status).toBe(202);
    await retried.body?.cancel();
    expect((await readProgress(gw, waiting)).at(-1)).toMatchObject({ state: 'done' });
    await expectResultMatchesModel(gw, manifest, keys, waiting, features[refusedAt]!);
  }, 300_000);

  test('every retriable answer has a retry-after: not-ready results and public keys (409) say 1 s', async () => {
    const s = await createSession(gw, 'acme');
    for (const path of [`/v1/sessions/${s.sessionId}/result`, `/v1/sessions/${s.sessionId}/public-key`]) {
      const res = await gw.fetch(path, { headers: bearer(s.token) });
      const body = await expectError(res, 409, path.endsWith('result') ? 'result_not_ready' : 'public_key_not_ready');
      expect(body.retriable).toBe(true);
      expect(res.headers.get(PublicHeaders.retryAfter)).toBe('1');
    }
    // A final answer has none.
    const missing = await run(gw, s);
    expect((await expectError(missing, 409, 'missing_server_key')).retriable).not.toBe(true);
    expect(missing.headers.get(PublicHeaders.retryAfter)).toBeNull();
  });
});
