/**
 * Full sessions over loopback HTTP with real node-tfhe keys and the real circuit: key, three
 * parties, run, progress, and a result that node-tfhe decrypts to the cleartext model's answer;
 * two sessions interleaved; missing parties; delete and expiry during and after a run; a full run
 * queue refusing with `queue_full` and `retry-after` while every accepted run completes.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Party } from '../../../../protocol/ciphertexts.ts';
import { ErrorBody } from '../../../../protocol/errors.ts';
import { EncryptedResult, evaluatorPath, RunProgress, SessionStatus } from '../../../../protocol/evaluator-api.ts';
import { explainCodes } from '../../../../model/infer.ts';
import { loadModel, type Model } from '../../../../model/private-model.ts';
import { quantizerLevels } from '../../../../model/quantize.ts';
import { compileCircuit } from '../../../../evaluator/circuit/index.ts';
import { circuitBackend } from '../../../../evaluator/service/circuit-backend.ts';
import { loadPublicKeyTestKeys, loadTestKeys } from '../../../support/tfhe-keys.ts';
import { startTestEvaluator, type TestEvaluator } from './support/harness.ts';
import { compactPartyInputs, partyInputs } from './support/inputs.ts';
import { readProgress } from './support/progress.ts';
import { decryptSerialized } from '../../../support/decrypt.ts';

const PARTIES: readonly Party[] = ['applicant', 'bank', 'bureau'];
let model: Model;
let ev: TestEvaluator;
let n = 0;

/** Deterministic codes for every input (a small LCG; the sequence only needs to vary). */
function codesFor(seed: number): Record<string, number> {
  let s = seed;
  const next = () => (s = (s * 1103515245 + 12345) % 2 ** 31);
  return Object.fromEntries(model.manifest.inputs.map((i) => [i.name, next() % quantizerLevels(i.quantizer)]));
}

async function expectError(res: Response, status: number, code: string): Promise<ErrorBody> {
  const body = ErrorBody.parse(await res.json());
  expect({ status: res.status, code: body.code }).toEqual({ status, code });
  return body;
}

async function newSession(e: TestEvaluator = ev, ttlSeconds?: number): Promise<string> {
  const id = `full-session-${String(++n).padStart(4, '0')}-abcdefghijk`;
  const res = await e.request('PUT', evaluatorPath.session(id), {
    json: { modelVersion: model.manifest.modelVersion, ...(ttlSeconds ? { ttlSeconds } : {}) },
  });
  expect(res.status).toBe(201);
  return id;
}

async function putKey(id: string, e: TestEvaluator = ev): Promise<void> {
  const bytes = loadTestKeys('tuniform').compressedServerKeyBytes as Uint8Array<ArrayBuffer>;
  const res = await e.request('PUT', evaluatorPath.serverKey(id), { bytes, contentType: 'application/octet-stream' });
  expect(res.status).toBe(201);
}

async function putParty(id: string, party: Party, codes: Record<string, number>, e: TestEvaluator = ev): Promise<Response> {
  return e.request('PUT', evaluatorPath.inputs(id, party), {
    json: partyInputs(model.manifest, party, loadTestKeys('tuniform').clientKey, codes),
  });
}

/** Decrypts a result with the applicant's client key: decision and explanation bits. */
function decrypt(result: EncryptedResult): { decision: number; bits: number[] } {
  const ck = loadTestKeys('tuniform').clientKey;
  const dec = (b64: string) => decryptSerialized(ck, b64);
  return { decision: dec(result.decision), bits: result.explanation.ciphertexts.map(dec) };
}

async function fetchResult(id: string, e: TestEvaluator = ev): Promise<EncryptedResult> {
  const res = await e.request('GET', evaluatorPath.result(id));
  expect(res.status).toBe(200);
  return EncryptedResult.parse(await res.json());
}

/** The most bootstraps a run's progress events announced: what the run itself does. */
function bootstrapTotal(events: RunProgress[]): number {
  return Math.max(...events.filter((e) => e.stage === 'bootstraps').map((e) => e.total));
}

/** Waits for the session's precomputation over exactly `parties` to be logged done. */
function precomputed(id: string, parties: Party[]): Promise<{ bootstraps: number }> {
  return vi.waitFor(
    () => {
      const log = ev.logs.records.find(
        (r) => r.msg === 'precomputed' && r.sessionId === id && JSON.stringify(r.parties) === JSON.stringify(parties),
      );
      if (!log) throw new Error('not precomputed yet');
      return log as { bootstraps: number };
    },
    { timeout: 60_000, interval: 50 },
  );
}

beforeAll(async () => {
  model = await loadModel(readFileSync('model/artifacts/manifest.json', 'utf8'), readFileSync('model/artifacts/tree.json', 'utf8'));
  ev = await startTestEvaluator((log) => circuitBackend(model, { poolSize: 2, log }), { EVALUATOR_POOL_SIZE: '2' });
});
afterAll(async () => {
  await ev?.close();
});

describe('full sessions', () => {
  it("runs two interleaved sessions, queued one after the other, each to the cleartext model's answer", async () => {
    const [a, b] = [await newSession(), await newSession()];
    const [codesA, codesB] = [codesFor(11), codesFor(12345)];
    await putKey(a);
    await putKey(b);
    for (const party of PARTIES) {
      expect((await putParty(b, party, codesB)).status).toBe(201);
      expect((await putParty(a, party, codesA)).status).toBe(201);
    }
    const progressA = ev.request('GET', evaluatorPath.progress(a)).then(readProgress);
    const progressB = ev.request('GET', evaluatorPath.progress(b)).then(readProgress);
    const runA = await ev.request('POST', evaluatorPath.run(a));
    expect(runA.status).toBe(202);
    expect(RunProgress.parse(await runA.json()).state).toMatch(/queued|running/);
    const runB = RunProgress.parse(await (await ev.request('POST', evaluatorPath.run(b))).json());
    expect(runB).toMatchObject({ state: 'queued', queuePosition: 0 });

    const [eventsA, eventsB] = await Promise.all([progressA, progressB]);
    for (const events of [eventsA, eventsB]) {
      expect(events[0]!.state).toBe('idle');
      expect(events.at(-1)).toMatchObject({ state: 'succeeded', fraction: 1 });
      const fractions = events.map((e) => e.fraction);
      expect(fractions).toEqual([...fractions].sort((x, y) => x - y));
      expect(events.some((e) => e.stage === 'bootstraps' && e.total > 0)).toBe(true);
    }
    expect(eventsB.some((e) => e.state === 'queued')).toBe(true);

    // Once done, a run request is idempotent and a new stream sends the final state and ends.
    expect((await ev.request('POST', evaluatorPath.run(a))).status).toBe(200);
    expect(await readProgress(await ev.request('GET', evaluatorPath.progress(a)))).toHaveLength(1);

    for (const [id, codes] of [
      [a, codesA],
      [b, codesB],
    ] as const) {
      const result = await fetchResult(id);
      expect(result.modelVersion).toBe(model.manifest.modelVersion);
      expect(result.explanation.bins).toEqual(model.manifest.explanation.bins.map((x) => x.label));
      const expected = explainCodes(model.tree, codes, model.manifest.explanation);
      expect(decrypt(result)).toEqual({ decision: expected.decision, bits: expected.bits });
      const runLog = ev.logs.records.find((r) => r.msg === 'run succeeded' && r.sessionId === id);
      expect(runLog).toMatchObject({ expandedNow: expect.any(Boolean), keyMs: expect.any(Number), runMs: expect.any(Number) });
      const status = SessionStatus.parse(await (await ev.request('GET', evaluatorPath.session(id))).json());
      expect(status.serverKey).toMatchObject({
        received: true,
        paramSet: model.manifest.parameterSet.id,
        expansion: expect.stringMatching(/^(ready|none)$/),
      });
    }

    // The next check on session a: new inputs make the session idle again, and its run reuses the key.
    const codesC = codesFor(4242);
    for (const party of PARTIES) expect((await putParty(a, party, codesC)).status).toBe(201);
    expect(SessionStatus.parse(await (await ev.request('GET', evaluatorPath.session(a))).json()).run.state).toBe('idle');
    await expectError(await ev.request('GET', evaluatorPath.result(a)), 409, 'result_not_ready');
    const progressC = ev.request('GET', evaluatorPath.progress(a)).then(readProgress);
    expect((await ev.request('POST', evaluatorPath.run(a))).status).toBe(202);
    expect((await progressC).at(-1)).toMatchObject({ state: 'succeeded', fraction: 1 });
    const expectedC = explainCodes(model.tree, codesC, model.manifest.explanation);
    expect(decrypt(await fetchResult(a))).toEqual({ decision: expectedC.decision, bits: expectedC.bits });
    const runLogs = ev.logs.records.filter((r) => r.msg === 'run succeeded' && r.sessionId === a);
    expect(runLogs).toHaveLength(2);
    expect(runLogs[1]).toMatchObject({ expandedNow: false });

    // Sessions keep their compressed key for the next run (and the expanded one while memory
    // allows); deleting them lets go of everything.
    for (const id of [a, b]) expect((await ev.request('DELETE', evaluatorPath.session(id))).status).toBe(204);
    expect(ev.service.stats()).toMatchObject({ sessions: 0, expandedBytes: 0, storedBytes: 0 });
  });

  it('runs a session whose bank and bureau encrypted with the applicant’s compact public key', async () => {
    // One secret: the applicant's high-level key; its derived shortint key made the server key.
    const keys = loadPublicKeyTestKeys('tuniform');
    const id = await newSession();
    const codes = codesFor(777);
    const res = await ev.request('PUT', evaluatorPath.serverKey(id), {
      bytes: keys.compressedServerKeyBytes as Uint8Array<ArrayBuffer>,
      contentType: 'application/octet-stream',
    });
    expect(res.status).toBe(201);
    const uploads = [
      partyInputs(model.manifest, 'applicant', keys.clientKey, codes),
      compactPartyInputs(model.manifest, 'bank', keys.compactPublicKey, codes),
      compactPartyInputs(model.manifest, 'bureau', keys.compactPublicKey, codes),
    ];
    for (const json of uploads) expect((await ev.request('PUT', evaluatorPath.inputs(id, json.party), { json })).status).toBe(201);
    const progress = ev.request('GET', evaluatorPath.progress(id)).then(readProgress);
    expect((await ev.request('POST', evaluatorPath.run(id))).status).toBe(202);
    const events = await progress;
    expect(events.at(-1)).toMatchObject({ state: 'succeeded' });
    // The plan's bootstraps plus one per public-key digit (bank 2, bureau 2; the plan itself
    // clamps the bureau's 1-bit `employed`, whatever the encoding).
    expect(bootstrapTotal(events)).toBe(compileCircuit(model).stats.pbs + 4);
    const result = await fetchResult(id);
    const dec = (b64: string) => decryptSerialized(keys.clientKey, b64);
    const expected = explainCodes(model.tree, codes, model.manifest.explanation);
    expect({ decision: dec(result.decision), bits: result.explanation.ciphertexts.map(dec) }).toEqual({
      decision: expected.decision,
      bits: expected.bits,
    });
  });

  it('precomputes the bank\u2019s and bureau\u2019s part before the applicant\u2019s inputs arrive; runs reuse it until those inputs change', async () => {
    const id = await newSession();
    const plan = compileCircuit(model);
    await putKey(id);
    const codes = codesFor(2024);
    for (const party of ['bank', 'bureau'] as const) expect((await putParty(id, party, codes)).status).toBe(201);
    const done = await precomputed(id, ['bank', 'bureau']);
    expect(done.bootstraps).toBeGreaterThan(0);
    expect(done.bootstraps).toBeLessThan(plan.stats.pbs);

    /** Uploads the applicant's answers, runs, and checks the result and the bootstraps the run did. */
    const check = async (applicantCodes: Record<string, number>, bootstraps: number) => {
      expect((await putParty(id, 'applicant', applicantCodes)).status).toBe(201);
      const progress = ev.request('GET', evaluatorPath.progress(id)).then(readProgress);
      expect((await ev.request('POST', evaluatorPath.run(id))).status).toBe(202);
      const events = await progress;
      expect(events.at(-1)).toMatchObject({ state: 'succeeded' });
      expect(bootstrapTotal(events)).toBe(bootstraps);
    };
    const expectModel = async (all: Record<string, number>) => {
      const expected = explainCodes(model.tree, all, model.manifest.explanation);
      expect(decrypt(await fetchResult(id))).toEqual({ decision: expected.decision, bits: expected.bits });
    };
    const applicantOnly = (seed: number) =>
      Object.fromEntries(
        Object.entries(codesFor(seed)).filter(([name]) => model.manifest.inputs.find((i) => i.name === name)?.party === 'applicant'),
      );

    await check(codes, plan.stats.pbs - done.bootstraps);
    await expectModel(codes);
    // A re-check with other answers: the bank's and bureau's part is not done again.
    const second = applicantOnly(31337);
    await check({ ...codes, ...second }, plan.stats.pbs - done.bootstraps);
    await expectModel({ ...codes, ...second });
    // New bureau inputs: the precomputation over the old ones is dropped; this run does everything.
    const third = codesFor(99);
    expect((await putParty(id, 'bureau', third)).status).toBe(201);
    const bureau = Object.fromEntries(
      Object.entries(third).filter(([name]) => model.manifest.inputs.find((i) => i.name === name)?.party === 'bureau'),
    );
    await check({ ...codes, ...second }, plan.stats.pbs);
    await expectModel({ ...codes, ...second, ...bureau });
    expect((await ev.request('DELETE', evaluatorPath.session(id))).status).toBe(204);
  });

  it('precomputes the applicant\u2019s part when the bank and the bureau are late', async () => {
    const id = await newSession();
    await putKey(id);
    const codes = codesFor(5150);
    expect((await putParty(id, 'applicant', codes)).status).toBe(201);
    const done = await precomputed(id, ['applicant']);
    for (const party of ['bank', 'bureau'] as const) expect((await putParty(id, party, codes)).status).toBe(201);
    const progress = ev.request('GET', evaluatorPath.progress(id)).then(readProgress);
    expect((await ev.request('POST', evaluatorPath.run(id))).status).toBe(202);
    const events = await progress;
    // At least the applicant's part is not done again (the bank's upload may have started a
    // larger precomputation over both, which the run then adopted instead).
    expect(bootstrapTotal(events)).toBeLessThanOrEqual(compileCircuit(model).stats.pbs - done.bootstraps);
    const expected = explainCodes(model.tree, codes, model.manifest.explanation);
    expect(decrypt(await fetchResult(id))).toEqual({ decision: expected.decision, bits: expected.bits });
    expect((await ev.request('DELETE', evaluatorPath.session(id))).status).toBe(204);
    // Every precomputation of this file's sessions so far started cleanly.
    expect(ev.logs.records.filter((r) => r.msg === 'precomputation not started')).toEqual([]);
  });

  it('never expands a key for a precomputation: without pre-expansion, inputs wait for the run', async () => {
    const lazy = await startTestEvaluator((log) => circuitBackend(model, { poolSize: 1, log }), { EVALUATOR_PREEXPAND_KEYS: 'false' });
    try {
      const id = await newSession(lazy);
      await putKey(id, lazy);
      const codes = codesFor(8);
      for (const party of ['bank', 'bureau'] as const) expect((await putParty(id, party, codes, lazy)).status).toBe(201);
      // The decision not to precompute is taken while the upload is answered: no key was expanded for it.
      expect(lazy.service.stats().keys).toMatchObject({ entries: 0, expansions: 0 });
      expect((await putParty(id, 'applicant', codes, lazy)).status).toBe(201);
      const progress = lazy.request('GET', evaluatorPath.progress(id)).then(readProgress);
      expect((await lazy.request('POST', evaluatorPath.run(id))).status).toBe(202);
      const events = await progress;
      expect(bootstrapTotal(events)).toBe(compileCircuit(model).stats.pbs);
      const expected = explainCodes(model.tree, codes, model.manifest.explanation);
      expect(decrypt(await fetchResult(id, lazy))).toEqual({ decision: expected.decision, bits: expected.bits });
    } finally {
      await lazy.close();
    }
  });

  it('names the missing party, freezes inputs once running, and forgets a session deleted mid-run', async () => {
    const id = await newSession();
    await putKey(id);
    const codes = codesFor(99);
    await putParty(id, 'applicant', codes);
    await putParty(id, 'bank', codes);
    const early = await expectError(await ev.request('POST', evaluatorPath.run(id)), 409, 'missing_inputs');
    expect(early.details).toEqual({ missingParties: ['bureau'] });
    await putParty(id, 'bureau', codes);

    const progress = ev.request('GET', evaluatorPath.progress(id)).then(readProgress);
    expect((await ev.request('POST', evaluatorPath.run(id))).status).toBe(202);
    await expectError(await putParty(id, 'bank', codes), 409, 'run_started');
    expect((await ev.request('DELETE', evaluatorPath.session(id))).status).toBe(204);
    expect((await progress).at(-1)).toMatchObject({ state: 'failed', error: { code: 'session_not_found' } });
    await expectError(await ev.request('GET', evaluatorPath.result(id)), 404, 'session_not_found');
    // The cancelled run unwinds (bootstraps in flight finish) and frees its slot.
    await vi.waitFor(() => expect(ev.service.stats()).toMatchObject({ runningRuns: 0, queuedRuns: 0 }), { timeout: 60_000 });
  });

  it('answers 410 once a session expires, even mid-run', async () => {
    const id = await newSession(ev, 60);
    await putKey(id);
    for (const party of PARTIES) await putParty(id, party, codesFor(3));
    const progress = ev.request('GET', evaluatorPath.progress(id)).then(readProgress);
    await ev.request('POST', evaluatorPath.run(id));
    ev.advanceClock(61_000);
    try {
      await expectError(await ev.request('GET', evaluatorPath.result(id)), 410, 'session_expired');
      expect((await progress).at(-1)).toMatchObject({ state: 'failed', error: { code: 'session_expired' } });
    } finally {
      ev.advanceClock(-61_000);
    }
    await vi.waitFor(() => expect(ev.service.stats()).toMatchObject({ runningRuns: 0 }), { timeout: 60_000 });
  });
});

describe('run queue', () => {
  it('answers 503 queue_full with retry-after when the queue is full, and loses nothing it accepted', async () => {
    // One run at a time and one waiting; keys expand when their run starts, so the first run
    // still holds its slot when the third request arrives.
    const e = await startTestEvaluator((log) => circuitBackend(model, { poolSize: 1, log }), {
      EVALUATOR_POOL_SIZE: '1',
      EVALUATOR_MAX_CONCURRENT_RUNS: '1',
      EVALUATOR_MAX_QUEUED_RUNS: '1',
      EVALUATOR_PREEXPAND_KEYS: 'false',
    });
    try {
      const ids = [await newSession(e), await newSession(e), await newSession(e)] as const;
      const codes = ids.map((_, i) => codesFor(4242 + i));
      for (const [i, id] of ids.entries()) {
        await putKey(id, e);
        for (const party of PARTIES) expect((await putParty(id, party, codes[i]!, e)).status).toBe(201);
      }
      const [a, b, c] = ids;
      const progress = [a, b].map((id) => e.request('GET', evaluatorPath.progress(id)).then(readProgress));
      expect((await e.request('POST', evaluatorPath.run(a))).status).toBe(202);
      expect(RunProgress.parse(await (await e.request('POST', evaluatorPath.run(b))).json())).toMatchObject({
        state: 'queued',
        queuePosition: 0,
      });

      const refused = await e.request('POST', evaluatorPath.run(c));
      const body = await expectError(refused, 503, 'queue_full');
      expect(body).toMatchObject({ retriable: true, details: { maxQueued: 1 } });
      const retryAfter = refused.headers.get('retry-after');
      expect(retryAfter).toMatch(/^[1-9][0-9]*$/);
      expect(body.details!.retryAfterSeconds).toBe(Number(retryAfter));
      // The refusal changed nothing: the third session is idle, the other two keep their places.
      const statusC = SessionStatus.parse(await (await e.request('GET', evaluatorPath.session(c))).json());
      expect(statusC.run.state).toBe('idle');
      expect(e.service.stats()).toMatchObject({ runningRuns: 1, queuedRuns: 1 });

      // Both accepted runs finish with the cleartext model's answers.
      for (const events of await Promise.all(progress)) expect(events.at(-1)).toMatchObject({ state: 'succeeded' });
      for (const [i, id] of [a, b].entries()) {
        const expected = explainCodes(model.tree, codes[i]!, model.manifest.explanation);
        expect(decrypt(await fetchResult(id, e))).toEqual({ decision: expected.decision, bits: expected.bits });
      }
      // Retried once the queue has room, the refused run is accepted and succeeds.
      const progressC = e.request('GET', evaluatorPath.progress(c)).then(readProgress);
      expect((await e.request('POST', evaluatorPath.run(c))).status).toBe(202);
      expect((await progressC).at(-1)).toMatchObject({ state: 'succeeded' });
      const expected = explainCodes(model.tree, codes[2]!, model.manifest.explanation);
      expect(decrypt(await fetchResult(c, e))).toEqual({ decision: expected.decision, bits: expected.bits });
    } finally {
      await e.close();
    }
  });
});

describe('graceful shutdown', () => {
  it('lets a running run finish within the grace period and fails the queued one', async () => {
    const e = await startTestEvaluator((log) => circuitBackend(model, { poolSize: 2, log }), {
      EVALUATOR_POOL_SIZE: '2',
      EVALUATOR_SHUTDOWN_GRACE_SECONDS: '120',
    });
    const [a, b] = [await newSession(e), await newSession(e)];
    for (const id of [a, b]) {
      await putKey(id, e);
      for (const party of PARTIES) await putParty(id, party, codesFor(21), e);
    }
    const progressA = e.request('GET', evaluatorPath.progress(a)).then(readProgress);
    const progressB = e.request('GET', evaluatorPath.progress(b)).then(readProgress);
    await e.request('POST', evaluatorPath.run(a));
    await e.request('POST', evaluatorPath.run(b));
    const closed = e.close();
    const eventsB = await progressB;
    expect(eventsB.at(-1)).toMatchObject({ state: 'failed', error: { code: 'shutting_down', retriable: true } });
    expect((await progressA).at(-1)!.state).toBe('succeeded');
    await closed;
  });

  it('fails a run that outlives the grace period', async () => {
    const e = await startTestEvaluator((log) => circuitBackend(model, { poolSize: 1, log }), {
      EVALUATOR_POOL_SIZE: '1',
      EVALUATOR_SHUTDOWN_GRACE_SECONDS: '0',
    });
    const id = await newSession(e);
    await putKey(id, e);
    for (const party of PARTIES) await putParty(id, party, codesFor(8), e);
    const progress = e.request('GET', evaluatorPath.progress(id)).then(readProgress);
    await e.request('POST', evaluatorPath.run(id));
    await e.close();
    expect((await progress).at(-1)).toMatchObject({ state: 'failed', error: { code: 'shutting_down' } });
  });
});
