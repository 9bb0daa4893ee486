/**
 * The session record's transitions while the evaluator holds it (gateway/src/sessions/
 * evaluator-state.ts), run in Node: each one takes what the evaluator answered and leaves the
 * record as the session object then saves it. The calls themselves are exercised against real
 * workerd and a real evaluator in tests/workerd.
 */
import { describe, expect, test } from 'vitest';
import type { RunProgress, SessionStatus as EvaluatorSessionStatus } from '../../../../protocol/evaluator-api.ts';
import {
  attemptAnswer,
  beginAttempt,
  evaluatorSessionCreated,
  evaluatorSessionStep,
  evaluatorTouched,
  expectEmptyEvaluatorSession,
  inputsForwarded,
  inputsToForward,
  keyExpansionObserved,
  MAX_POLL_FAILURES,
  modelMismatch,
  pollAnswered,
  pollFailed,
  resultRefused,
  runAnswered,
  runFailed,
  runSucceeded,
  serverKeyForwardFailed,
  serverKeyForwarded,
  serverKeyStep,
} from '../../../../gateway/src/sessions/evaluator-state.ts';
import { IDLE_RUN, runsExhausted, stateOf, type SessionRecord } from '../../../../gateway/src/sessions/record.ts';

const KEY = { key: 'sessions/s1/server-key/a', bytes: 1000, sha256: 'a'.repeat(64) };
const BANK = { key: 'sessions/s1/inputs/bank/b', bytes: 10, sha256: 'b'.repeat(64) };
const APPLICANT = { key: 'sessions/s1/inputs/applicant/c', bytes: 10, sha256: 'c'.repeat(64) };

function session(overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    kind: 'session',
    sessionId: 's1',
    tenantId: 'acme',
    tokenHash: '0'.repeat(64),
    modelVersion: 'm1',
    demo: false,
    parties: ['applicant', 'bank'],
    createdAt: 0,
    expiresAt: 1_800_000,
    serverKey: KEY,
    inputs: { applicant: APPLICANT, bank: BANK },
    phase: 'open',
    run: IDLE_RUN,
    runNumber: 1,
    maxRuns: 2,
    attempts: 0,
    serverKeyEvaluator: 'pending',
    evaluator: { sessionId: 'e1', inputsSha256: {} },
    pollFailures: 0,
    ...overrides,
  };
}

const running = (stage: string): RunProgress => ({ state: 'running', stage, completed: 1, total: 4, fraction: 0.25 });
const succeeded: RunProgress = { state: 'succeeded', stage: 'done', completed: 4, total: 4, fraction: 1 };

function remote(
  overrides: {
    modelVersion?: string;
    serverKey?: EvaluatorSessionStatus['serverKey'];
    received?: Array<'applicant' | 'bank'>;
    run?: RunProgress;
  } = {},
): EvaluatorSessionStatus {
  const received = overrides.received ?? [];
  return {
    sessionId: 'e1',
    modelVersion: overrides.modelVersion ?? 'm1',
    createdAt: new Date(0).toISOString(),
    expiresAt: new Date(1_800_000).toISOString(),
    serverKey: overrides.serverKey ?? { received: false },
    parties: { received, missing: (['applicant', 'bank'] as const).filter((p) => !received.includes(p)) },
    run: overrides.run ?? IDLE_RUN,
  };
}

describe('a hand-over', () => {
  test('begins a new attempt: running, queued, poll failures forgotten', () => {
    const r = session({ phase: 'failed', attempts: 1, pollFailures: 2 });
    beginAttempt(r);
    expect(r).toMatchObject({ phase: 'running', attempts: 2, pollFailures: 0, run: { state: 'queued', stage: 'submitting' } });
    expect(stateOf(r)).toBe('running');
  });

  test.each([
    ['it has none', 'missing', {}, 'create'],
    ['it forgot the id', 'gone', {}, 'renew'],
    ['it holds the same model and key', remote({ serverKey: { received: true } }), { serverKeySha256: KEY.sha256 }, 'reuse'],
    ['it holds no key yet', remote(), {}, 'reuse'],
    ['it holds another model', remote({ modelVersion: 'm0' }), {}, 'replace'],
    ['it holds another key', remote({ serverKey: { received: true } }), { serverKeySha256: 'f'.repeat(64) }, 'replace'],
  ] as const)("the evaluator's session when %s: %s", (_what, answer, evaluator, step) => {
    const r = session({ evaluator: { sessionId: 'e1', inputsSha256: {}, ...evaluator } });
    expect(evaluatorSessionStep(r, answer)).toBe(step);
  });

  test('a fresh evaluator session holds nothing; once created, deleting the session deletes it', () => {
    const r = session({ evaluator: { sessionId: 'e1', serverKeySha256: KEY.sha256, inputsSha256: { bank: BANK.sha256 } } });
    expect(evaluatorTouched(r)).toBe(false);
    expectEmptyEvaluatorSession(r, 'e2');
    expect(r.evaluator).toEqual({ sessionId: 'e2', inputsSha256: {} });
    evaluatorSessionCreated(r);
    expect(r.evaluator.created).toBe(true);
    expect(evaluatorTouched(r)).toBe(true);
  });

  test('an evaluator session of another model is refused, final', () => {
    expect(modelMismatch(session(), remote())).toBeUndefined();
    expect(modelMismatch(session(), remote({ modelVersion: 'm0' }))).toMatchObject({
      status: 409,
      code: 'model_version_mismatch',
      retriable: false,
    });
  });

  test('the server key is sent once, and never again after a refusal', () => {
    expect(serverKeyStep(session(), remote())).toBe('send');
    expect(serverKeyStep(session({ serverKeyEvaluator: 'failed' }), remote())).toBe('refused');
    const r = session();
    serverKeyForwarded(r, KEY.sha256);
    expect(r).toMatchObject({ serverKeyEvaluator: 'expanding', evaluator: { serverKeySha256: KEY.sha256 } });
  });

  test.each([
    ['pending', 'expanding', 'expanding'],
    ['pending', 'ready', 'ready'],
    ['expanding', 'ready', 'ready'],
    ['ready', 'expanding', 'ready'],
  ] as const)('a key the evaluator holds: %s, its expansion %s → %s', (known, expansion, after) => {
    const r = session({ serverKeyEvaluator: known });
    expect(serverKeyStep(r, remote({ serverKey: { received: true, expansion } }))).toBe('held');
    expect(r.serverKeyEvaluator).toBe(after);
  });

  test("a refused key is marked failed; a broken stream reads the refusal from the evaluator's status", () => {
    const broken = { status: 503 as const, code: 'evaluator_unavailable' as const, message: 'cut short', retriable: true };
    const r = session();
    expect(serverKeyForwardFailed(r, broken, undefined)).toEqual({ failure: broken, changed: false });
    expect(r.serverKeyEvaluator).toBe('pending');
    const read = serverKeyForwardFailed(r, broken, { code: 'key_parameter_mismatch', message: 'x' });
    expect(read).toMatchObject({ changed: true, failure: { status: 422, code: 'key_parameter_mismatch', retriable: false } });
    expect(r.serverKeyEvaluator).toBe('failed');
  });

  test('inputs go over when the evaluator lacks them or holds another version', () => {
    const r = session({ inputs: { bank: BANK } });
    expect(inputsToForward(r, remote(), 'applicant')).toBeUndefined();
    expect(inputsToForward(r, remote(), 'bank')).toBe(BANK);
    // Received, but the gateway does not know it is this version (another upload replaced it).
    expect(inputsToForward(r, remote({ received: ['bank'] }), 'bank')).toBe(BANK);
    inputsForwarded(r, 'bank', BANK.sha256);
    expect(inputsToForward(r, remote({ received: ['bank'] }), 'bank')).toBeUndefined();
    // An evaluator that lost them (a fresh session) gets them again.
    expect(inputsToForward(r, remote(), 'bank')).toBe(BANK);
  });

  test('the started run decides what follows', () => {
    const r = session({ phase: 'running' });
    expect(runAnswered(r, running('nodes'))).toBe('wait');
    expect(r.run.stage).toBe('nodes');
    expect(runAnswered(r, succeeded)).toBe('collect');
    expect(runAnswered(r, { ...succeeded, state: 'failed', stage: 'failed' })).toBe('failure');
  });

  test("the run's answer: the failure the record holds, else the full status", () => {
    const r = session({ phase: 'running', run: running('nodes') });
    expect(attemptAnswer(undefined, r)).toMatchObject({ ok: true, value: { state: 'running', runs: { runNumber: 1 } } });
    const failed = session({
      phase: 'failed',
      run: { ...IDLE_RUN, state: 'failed', stage: 'failed', error: { code: 'invalid_inputs', message: 'bad', retriable: false } },
    });
    expect(attemptAnswer(failed, r)).toEqual({
      ok: false,
      error: { status: 422, code: 'invalid_inputs', message: 'bad', retriable: false },
    });
    expect(
      attemptAnswer(
        { kind: 'tombstone', reason: 'deleted', sessionId: 's1', tenantId: 'acme', tokenHash: '', blobsDeleted: true, purgeAt: 0 },
        r,
      ),
    ).toMatchObject({
      ok: true,
      value: { state: 'running' },
    });
  });
});

describe('polls of a running session', () => {
  test('progress is copied and resets the failure count', () => {
    const r = session({ phase: 'running', pollFailures: 2 });
    expect(pollAnswered(r, remote({ run: running('leaves') }))).toBe('wait');
    expect(r).toMatchObject({ pollFailures: 0, run: { stage: 'leaves' } });
  });

  test.each(['missing', 'gone'] as const)('an evaluator that answers %s lost the session: failed, retriable', (answer) => {
    const r = session({ phase: 'running' });
    expect(pollAnswered(r, answer)).toBe('wait');
    expect(r).toMatchObject({ phase: 'failed', run: { state: 'failed', error: { code: 'evaluator_unavailable', retriable: true } } });
  });

  test(`${MAX_POLL_FAILURES} failed polls in a row fail the run with the last failure`, () => {
    const r = session({ phase: 'running', run: running('nodes') });
    const failure = { status: 503 as const, code: 'evaluator_unavailable' as const, message: 'down', retriable: true };
    for (let i = 1; i < MAX_POLL_FAILURES; i++) {
      pollFailed(r, failure);
      expect(r).toMatchObject({ phase: 'running', pollFailures: i });
    }
    pollFailed(r, failure);
    expect(r).toMatchObject({ phase: 'failed', run: { error: { code: 'evaluator_unavailable', message: 'down', retriable: true } } });
  });
});

describe("a run's end", () => {
  test('a result marks the session done and the key expanded; the last allowed run frees the session', () => {
    const r = session({ phase: 'running', runNumber: 2, serverKeyEvaluator: 'expanding', run: succeeded });
    const ref = { key: 'sessions/s1/result', bytes: 100, sha256: 'd'.repeat(64) };
    runSucceeded(r, ref);
    expect(r).toMatchObject({ phase: 'done', serverKeyEvaluator: 'ready', result: ref });
    expect(runsExhausted(r)).toBe(true);
  });

  test('a result for another model fails the run, retriable', () => {
    const r = session({ phase: 'running' });
    resultRefused(r);
    expect(r).toMatchObject({ phase: 'failed', run: { error: { code: 'evaluator_error', retriable: true } } });
    expect(runsExhausted(r)).toBe(false);
  });

  test.each([
    ['the key refused', 'key_parameter_mismatch', 422, false, 'failed'],
    ['inputs refused', 'invalid_inputs', 422, false, 'ready'],
    ['a crash', 'run_failed', 500, true, 'ready'],
  ] as const)("the evaluator's failure (%s) is classified; only a key refusal marks the key", (_what, code, status, retriable, key) => {
    const r = session({
      phase: 'running',
      serverKeyEvaluator: 'ready',
      run: { ...IDLE_RUN, state: 'failed', stage: 'failed', error: { code, message: 'x' } },
    });
    runFailed(r);
    expect(r).toMatchObject({ phase: 'failed', serverKeyEvaluator: key, run: { state: 'failed', error: { code, retriable } } });
    expect(attemptAnswer(r, r)).toMatchObject({ ok: false, error: { status, code } });
  });

  test('a failure without an error body is a retriable run_failed', () => {
    const r = session({ phase: 'running', run: { ...IDLE_RUN, state: 'failed', stage: 'failed' } });
    runFailed(r);
    expect(r.run.error).toMatchObject({ code: 'run_failed', retriable: true });
  });
});

test('key expansion seen in a status read', () => {
  const r = session({ serverKeyEvaluator: 'expanding' });
  expect(keyExpansionObserved(r, undefined)).toBe(false);
  expect(keyExpansionObserved(r, 'gone')).toBe(false);
  expect(keyExpansionObserved(r, remote({ serverKey: { received: true, expansion: 'expanding' } }))).toBe(false);
  expect(r.serverKeyEvaluator).toBe('expanding');
  expect(keyExpansionObserved(r, remote({ serverKey: { received: true, expansion: 'ready' } }))).toBe(true);
  expect(r.serverKeyEvaluator).toBe('ready');
});
