/**
 * The evaluator's HTTP surface over loopback: request signatures, session lifecycle, inputs, run
 * preconditions and expiry, with real node-tfhe ciphertexts. Every refusal is a 4xx
 * `{ code, message }`, and the next valid request still succeeds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { base64ToBytes, bytesToBase64 } from '../../../../protocol/ciphertexts.ts';
import { ErrorBody } from '../../../../protocol/errors.ts';
import { EMPTY_BODY_SHA256, evaluatorPath, InputsAccepted, ModelInfo, SessionStatus } from '../../../../protocol/evaluator-api.ts';
import * as tfhe from 'node-tfhe';
import { loadPublicKeyTestKeys, loadTestKeys } from '../../../support/tfhe-keys.ts';
import { manifestOnlyBackend, TEST_MANIFEST } from './support/backends.ts';
import { startTestEvaluator, TEST_SECRET, type TestEvaluator } from './support/harness.ts';
import { compactPartyInputs, encryptCode, partyInputs } from './support/inputs.ts';
import { readProgress } from './support/progress.ts';

let ev: TestEvaluator;
let n = 0;
const newId = () => `session-${String(++n).padStart(4, '0')}-${Math.random().toString(36).slice(2, 14).padEnd(12, 'x')}`;
const keys = () => loadTestKeys('tuniform');

async function expectError(res: Response, status: number, code: string): Promise<ErrorBody> {
  const body = ErrorBody.parse(await res.json());
  expect({ status: res.status, code: body.code }).toEqual({ status, code });
  expect(body.message.length).toBeGreaterThan(0);
  return body;
}

async function createSession(id = newId()): Promise<string> {
  const res = await ev.request('PUT', evaluatorPath.session(id), { json: { modelVersion: TEST_MANIFEST.modelVersion } });
  expect(res.status).toBe(201);
  return id;
}

beforeAll(async () => {
  ev = await startTestEvaluator(manifestOnlyBackend(), { EVALUATOR_PREEXPAND_KEYS: 'false' });
});
afterAll(async () => {
  await ev.close();
});

describe('health', () => {
  it('answers /healthz and /readyz without a signature', async () => {
    const health = await fetch(`${ev.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok' });
    const ready = await fetch(`${ev.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ready: true, checks: { model: true, workers: true, accepting: true } });
  });

  it('serves the model version to signed requests only', async () => {
    const res = await ev.request('GET', '/v1/model');
    expect(ModelInfo.parse(await res.json())).toEqual({
      modelVersion: TEST_MANIFEST.modelVersion,
      paramSet: 'tuniform',
      parties: ['applicant', 'bank', 'bureau'],
    });
    await expectError(await fetch(`${ev.url}/v1/model`), 401, 'unauthorized');
  });
});

describe('request signatures', () => {
  it('refuses missing, forged, stale and replayed signatures', async () => {
    await expectError(await ev.request('GET', '/v1/model', { headers: { 'x-blindscore-signature': null } }), 401, 'unauthorized');
    await expectError(
      await ev.request('GET', '/v1/model', { headers: { 'x-blindscore-signature': `v1=${'0'.repeat(64)}` } }),
      401,
      'bad_signature',
    );
    // A signature over another path does not verify for this one.
    await expectError(await ev.request('GET', '/v1/model', { headers: { 'x-blindscore-timestamp': '1' } }), 401, 'bad_signature');

    const signedNow = await ev.request('GET', '/v1/model'); // sanity: the clock is in sync
    expect(signedNow.status).toBe(200);
    ev.advanceClock(-10 * 60_000);
    try {
      // Client and server both use the shifted clock here, so shift only the server's view:
      const res = await fetch(`${ev.url}/v1/model`, { headers: await freshHeaders('GET', '/v1/model') });
      await expectError(res, 401, 'stale_request');
    } finally {
      ev.advanceClock(10 * 60_000);
    }

    const headers = await freshHeaders('GET', '/v1/model');
    expect((await fetch(`${ev.url}/v1/model`, { headers })).status).toBe(200);
    await expectError(await fetch(`${ev.url}/v1/model`, { headers }), 401, 'replayed_request');
  });

  it('refuses a body that does not hash to the signed value', async () => {
    const id = newId();
    const res = await ev.request('PUT', evaluatorPath.session(id), {
      json: { modelVersion: TEST_MANIFEST.modelVersion },
      signedSha256: EMPTY_BODY_SHA256,
    });
    await expectError(res, 400, 'body_hash_mismatch');
    await expectError(await ev.request('GET', evaluatorPath.session(id)), 404, 'session_not_found');
  });

  it('never logs the secret, signatures or ciphertexts', async () => {
    const id = await createSession();
    await ev.request('PUT', evaluatorPath.inputs(id, 'bank'), { json: partyInputs(TEST_MANIFEST, 'bank', keys().clientKey) });
    const all = ev.logs.lines.join('\n');
    expect(all).not.toContain(TEST_SECRET);
    expect(all).not.toMatch(/v1=[0-9a-f]{64}/);
    expect(all).not.toMatch(/[A-Za-z0-9+/]{100,}/);
    const access = ev.logs.records.filter((r) => r.msg === 'request' && r.sessionId === id);
    expect(access.map((r) => [r.method, r.route, r.party, r.status])).toEqual([
      ['PUT', '/v1/sessions/:sessionId', undefined, 201],
      ['PUT', '/v1/sessions/:sessionId/inputs/:party', 'bank', 201],
    ]);
    for (const r of access) {
      expect(typeof r.requestId).toBe('string');
      expect(typeof r.ms).toBe('number');
    }
  });
});

/** Signature headers made with the real clock (the test client's usual clock is shifted too). */
async function freshHeaders(method: string, path: string): Promise<Record<string, string>> {
  const { importSharedSecret, signEvaluatorRequest } = await import('../../../../protocol/evaluator-api.ts');
  return signEvaluatorRequest(await importSharedSecret(TEST_SECRET), { bootId: ev.bootId, method, pathAndQuery: path });
}

describe('session lifecycle', () => {
  it('creates idempotently, reports status, deletes, then answers 404', async () => {
    const id = newId();
    const body = { modelVersion: TEST_MANIFEST.modelVersion };
    const first = await ev.request('PUT', evaluatorPath.session(id), { json: body });
    expect(first.status).toBe(201);
    const status = SessionStatus.parse(await first.json());
    expect(status).toMatchObject({
      sessionId: id,
      serverKey: { received: false },
      parties: { received: [], missing: ['applicant', 'bank', 'bureau'] },
      run: { state: 'idle' },
    });
    expect(Date.parse(status.expiresAt) - Date.parse(status.createdAt)).toBe(1800_000);
    expect((await ev.request('PUT', evaluatorPath.session(id), { json: body })).status).toBe(200);
    await expectError(
      await ev.request('PUT', evaluatorPath.session(id), { json: { modelVersion: 'b2'.repeat(32) } }),
      409,
      'model_version_mismatch',
    );
    expect((await ev.request('DELETE', evaluatorPath.session(id))).status).toBe(204);
    await expectError(await ev.request('GET', evaluatorPath.session(id)), 404, 'session_not_found');
    await expectError(await ev.request('GET', evaluatorPath.result(id)), 404, 'session_not_found');
    await expectError(await ev.request('DELETE', evaluatorPath.session(id)), 404, 'session_not_found');
  });

  it('validates ids and bodies', async () => {
    await expectError(
      await ev.request('PUT', evaluatorPath.session('short'), { json: { modelVersion: TEST_MANIFEST.modelVersion } }),
      400,
      'invalid_request',
    );
    await expectError(await ev.request('PUT', evaluatorPath.session(newId()), { json: { modelVersion: 'nope' } }), 400, 'invalid_request');
    await expectError(
      await ev.request('PUT', evaluatorPath.session(newId()), {
        bytes: new TextEncoder().encode('{not json'),
        contentType: 'application/json',
      }),
      400,
      'invalid_json',
    );
    await expectError(
      await ev.request('PUT', evaluatorPath.session(newId()), { bytes: new TextEncoder().encode('{}'), contentType: 'text/plain' }),
      415,
      'unsupported_media_type',
    );
    await expectError(await ev.request('GET', '/v1/nothing-here'), 404, 'not_found');
    expect((await ev.request('GET', '/v1/model')).status).toBe(200);
  });

  it('expires sessions after their TTL with 410', async () => {
    const id = newId();
    const res = await ev.request('PUT', evaluatorPath.session(id), { json: { modelVersion: TEST_MANIFEST.modelVersion, ttlSeconds: 60 } });
    expect(res.status).toBe(201);
    await ev.request('PUT', evaluatorPath.inputs(id, 'bank'), { json: partyInputs(TEST_MANIFEST, 'bank', keys().clientKey) });
    const storedBefore = ev.service.budget.stored;
    expect(storedBefore).toBeGreaterThan(0);
    ev.advanceClock(61_000);
    try {
      await expectError(await ev.request('GET', evaluatorPath.session(id)), 410, 'session_expired');
      await expectError(await ev.request('GET', evaluatorPath.result(id)), 410, 'session_expired');
      expect(ev.service.budget.stored).toBeLessThan(storedBefore);
      // The id can be used again for a new session.
      expect((await ev.request('PUT', evaluatorPath.session(id), { json: { modelVersion: TEST_MANIFEST.modelVersion } })).status).toBe(201);
    } finally {
      ev.advanceClock(-61_000);
    }
  });
});

describe('party inputs', () => {
  it('accepts each party once validated and lists who is missing', async () => {
    const id = await createSession();
    const res = await ev.request('PUT', evaluatorPath.inputs(id, 'bureau'), {
      json: partyInputs(TEST_MANIFEST, 'bureau', keys().clientKey, { years_employed: 3, employed: 1 }),
    });
    expect(res.status).toBe(201);
    expect(InputsAccepted.parse(await res.json())).toEqual({ party: 'bureau', received: ['bureau'], missing: ['applicant', 'bank'] });
  });

  it('refuses wrong parties, names, digit counts and ciphertexts', async () => {
    const id = await createSession();
    const ck = keys().clientKey;
    const bank = partyInputs(TEST_MANIFEST, 'bank', ck);
    await expectError(await ev.request('PUT', evaluatorPath.inputs(id, 'bureau'), { json: bank }), 400, 'party_mismatch');
    await expectError(await ev.request('PUT', evaluatorPath.inputs(id, 'nobody' as 'bank'), { json: bank }), 400, 'invalid_request');
    const unknownName = { ...bank, inputs: { ...bank.inputs, salary: encryptCode(ck, 1, 1) } };
    const body = await expectError(await ev.request('PUT', evaluatorPath.inputs(id, 'bank'), { json: unknownName }), 422, 'invalid_inputs');
    expect(body.details).toMatchObject({ unknown: ['salary'] });
    const fewDigits = { ...bank, inputs: { account_age: encryptCode(ck, 1, 1) } };
    await expectError(await ev.request('PUT', evaluatorPath.inputs(id, 'bank'), { json: fewDigits }), 422, 'invalid_inputs');
    const short = { ...bank, inputs: { account_age: [bank.inputs.account_age![0]!.slice(0, 100), bank.inputs.account_age![1]!] } };
    const shortBody = await expectError(
      await ev.request('PUT', evaluatorPath.inputs(id, 'bank'), { json: short }),
      422,
      'invalid_ciphertext',
    );
    expect(shortBody.details).toEqual({ input: 'account_age', digit: 0 });
    // Well-sized but corrupt: the LWE size field (bytes 8..15) says 2048, or the degree is forged.
    const corrupt = (edit: (b: Uint8Array) => void) => {
      const b = base64ToBytes(bank.inputs.account_age![0]!);
      edit(b);
      return { ...bank, inputs: { account_age: [bytesToBase64(b), bank.inputs.account_age![1]!] } };
    };
    const wrongSize = await expectError(
      await ev.request('PUT', evaluatorPath.inputs(id, 'bank'), { json: corrupt((b) => (b[8] = 0x00)) }),
      422,
      'invalid_ciphertext',
    );
    expect(wrongSize.message).toContain('account_age[0]');
    // Byte 84 is the degree (after body, lwe_size, 44-byte seed, 24-byte modulus); 16 the seed kind.
    await expectError(
      await ev.request('PUT', evaluatorPath.inputs(id, 'bank'), { json: corrupt((b) => (b[84] = 15)) }),
      422,
      'invalid_ciphertext',
    );
    await expectError(
      await ev.request('PUT', evaluatorPath.inputs(id, 'bank'), { json: corrupt((b) => (b[16] = 9)) }),
      422,
      'invalid_ciphertext',
    );
    await expectError(
      await ev.request('PUT', evaluatorPath.inputs(id, 'bank'), { json: { ...bank, modelVersion: 'c3'.repeat(32) } }),
      409,
      'model_version_mismatch',
    );
    await expectError(await ev.request('PUT', evaluatorPath.inputs(newId(), 'bank'), { json: bank }), 404, 'session_not_found');
    // The session still takes the valid payload.
    expect((await ev.request('PUT', evaluatorPath.inputs(id, 'bank'), { json: bank })).status).toBe(201);
  });

  it('refuses an oversized payload with 413 while it streams', async () => {
    const id = await createSession();
    const huge = new TextEncoder().encode(JSON.stringify({ pad: 'x'.repeat(200_000) }));
    await expectError(
      await ev.request('PUT', evaluatorPath.inputs(id, 'bank'), { bytes: huge, contentType: 'application/json' }),
      413,
      'body_too_large',
    );
  });
});

describe('compact-list inputs', () => {
  const publicKeys = () => loadPublicKeyTestKeys('tuniform');

  it('accepts a party’s compact list that holds exactly its declared inputs', async () => {
    const id = await createSession();
    const bureau = compactPartyInputs(TEST_MANIFEST, 'bureau', publicKeys().compactPublicKey, { years_employed: 1, employed: 1 });
    const res = await ev.request('PUT', evaluatorPath.inputs(id, 'bureau'), { json: bureau });
    expect(res.status).toBe(201);
    expect(InputsAccepted.parse(await res.json())).toEqual({ party: 'bureau', received: ['bureau'], missing: ['applicant', 'bank'] });
  });

  it('refuses lists that are corrupt, of another set or shape, or that contradict their declarations', async () => {
    const id = await createSession();
    const cpk = publicKeys().compactPublicKey;
    const bank = compactPartyInputs(TEST_MANIFEST, 'bank', cpk, { account_age: 2 });
    const bytes = base64ToBytes(bank.list);
    const put = (json: unknown) => ev.request('PUT', evaluatorPath.inputs(id, 'bank'), { json });
    const truncated = await expectError(await put({ ...bank, list: bytesToBase64(bytes.subarray(0, 16_000)) }), 422, 'invalid_ciphertext');
    expect(truncated.details).toMatchObject({ engineCode: 'truncated' });
    // Declared as the manifest wants, but the list holds a 2-bit value (1 block) instead of a 4-bit one.
    const oneBlock = tfhe.CompactCiphertextList.builder(cpk);
    oneBlock.push_u2(1);
    const mismatch = await expectError(
      await put({ ...bank, list: bytesToBase64(oneBlock.build().serialize()) }),
      422,
      'invalid_ciphertext',
    );
    expect(mismatch.message).toContain('declare');
    const packed = tfhe.CompactCiphertextList.builder(cpk);
    packed.push_u4(2);
    await expectError(await put({ ...bank, list: bytesToBase64(packed.build_packed().serialize()) }), 422, 'invalid_ciphertext');
    const foreignKey = tfhe.TfheCompactPublicKey.new(
      tfhe.TfheClientKey.generate(
        tfhe.TfheConfigBuilder.with_custom_parameters(
          new tfhe.ShortintParameters(tfhe.ShortintParametersName.V1_1_PARAM_MESSAGE_1_CARRY_1_KS_PBS_GAUSSIAN_2M128),
        ).build(),
      ),
    );
    const foreign = await expectError(
      await put(compactPartyInputs(TEST_MANIFEST, 'bank', foreignKey, { account_age: 1 })),
      422,
      'invalid_ciphertext',
    );
    expect(foreign.message).toContain('modulus');
    // Declarations that do not fit the manifest are refused before the bytes are read.
    const wrongDigits = await expectError(await put({ ...bank, inputs: [{ name: 'account_age', digits: 1 }] }), 422, 'invalid_inputs');
    expect(wrongDigits.details).toMatchObject({ digitCounts: [{ input: 'account_age', expected: 2, got: 1 }] });
    await expectError(await put({ ...bank, list: 'A'.repeat(40_000) }), 400, 'invalid_request');
    expect((await put(bank)).status).toBe(201);
  });
});

describe('run failures', () => {
  it('reports a failed run on the stream and the result, and lets it be started again', async () => {
    // This suite's backend refuses to expand keys, so every run fails at its first step.
    const id = await createSession();
    const key = loadTestKeys('tuniform').compressedServerKeyBytes as Uint8Array<ArrayBuffer>;
    expect((await ev.request('PUT', evaluatorPath.serverKey(id), { bytes: key, contentType: 'application/octet-stream' })).status).toBe(
      201,
    );
    for (const party of ['applicant', 'bank', 'bureau'] as const) {
      expect(
        (await ev.request('PUT', evaluatorPath.inputs(id, party), { json: partyInputs(TEST_MANIFEST, party, keys().clientKey) })).status,
      ).toBe(201);
    }
    expect((await ev.request('POST', evaluatorPath.run(id))).status).toBe(202);
    const events = await readProgress(await ev.request('GET', evaluatorPath.progress(id)));
    expect(events.at(-1)).toMatchObject({ state: 'failed', error: { code: 'internal' } });
    const body = await expectError(await ev.request('GET', evaluatorPath.result(id)), 500, 'run_failed');
    expect(body).toMatchObject({ retriable: true, details: { error: { code: 'internal' } } });
    expect((await ev.request('POST', evaluatorPath.run(id))).status).toBe(202);
  });
});

describe('run preconditions', () => {
  it('names what is missing: the key, then each party', async () => {
    const id = await createSession();
    await expectError(await ev.request('POST', evaluatorPath.run(id)), 409, 'missing_server_key');
    await expectError(await ev.request('GET', evaluatorPath.result(id)), 409, 'result_not_ready');
    await expectError(await ev.request('POST', evaluatorPath.run(newId())), 404, 'session_not_found');
  });
});
