/**
 * Applicant mode with public-key encryption, in real processes: the gateway in workerd, the real
 * evaluator on loopback. The test plays the applicant's browser and holds the only secret key (a
 * high-level client key: its compact public key and the shortint server key derived from it are
 * uploaded); the bank uses the party SDK's API and the bureau its CLI, each with its own party
 * key. The decrypted decision and explanation must equal the cleartext model's. Then what a party
 * key may not do, and what the gateway refuses before storing.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tfhe from 'node-tfhe';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { CreditFeatures } from '../../model/features.ts';
import { explainCodes } from '../../model/infer.ts';
import type { Manifest } from '../../model/manifest.ts';
import type { TreeFile } from '../../model/private-model.ts';
import { quantizeParsed } from '../../model/quantize.ts';
import { base64ToBytes, bytesToBase64 } from '../../protocol/ciphertexts.ts';
import { InputsAccepted, ResultResponse } from '../../protocol/public-api.ts';
import { encryptPartyInputs as encryptCompact, PartyError, submitPartyInputs, type SubmitReport } from '../../party/index.ts';
import { loadPublicKeyTestKeys } from '../support/tfhe-keys.ts';
import {
  bearer,
  createSession,
  expectError,
  getManifest,
  partyKey,
  putJson,
  putOctets,
  type Session,
  statusPast,
} from './support/client.ts';
import { freePort, startEvaluatorProcess, type EvaluatorProcess } from './support/evaluator.ts';
import { startGateway, type TestGateway } from './support/gateway.ts';
import { encryptPartyInputs as encryptWithSecretKey, sampleApplication } from './support/inputs.ts';
import { KEYS } from './support/tenants.ts';
import { decryptSerialized } from '../support/decrypt.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const keys = loadPublicKeyTestKeys('tuniform');
const tree = JSON.parse(readFileSync(join(ROOT, 'model', 'artifacts', 'tree.json'), 'utf8')) as TreeFile;

let gw: TestGateway;
let evaluator: EvaluatorProcess;
let manifest: Manifest;

beforeAll(async () => {
  const port = await freePort();
  [gw, evaluator] = await Promise.all([startGateway({ evaluatorUrl: `http://127.0.0.1:${port}` }), startEvaluatorProcess(port)]);
  manifest = await getManifest(gw);
});
afterAll(async () => {
  await evaluator?.stop();
  await gw?.dispose();
});

/** The applicant's browser: server key and compact public key of its one secret, its own answers. */
async function applicantUploads(s: Session, features: CreditFeatures): Promise<void> {
  expect((await putOctets(gw, `/v1/sessions/${s.sessionId}/server-key`, bearer(s.token), keys.compressedServerKeyBytes)).status).toBe(201);
  expect((await putOctets(gw, `/v1/sessions/${s.sessionId}/public-key`, bearer(s.token), keys.compactPublicKeyBytes)).status).toBe(201);
  const own = encryptWithSecretKey(manifest, 'applicant', keys.clientKey, features);
  expect((await putJson(gw, `/v1/sessions/${s.sessionId}/inputs/applicant`, bearer(s.token), own)).status).toBe(201);
}

/** The bureau's backend through the CLI, as a separate process with its key in the environment. */
function bureauCli(s: Session, features: CreditFeatures): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const args = [
    '--import',
    'tsx',
    join(ROOT, 'party', 'cli.ts'),
    '--gateway',
    gw.url.origin,
    '--session',
    s.sessionId,
    '--party',
    'bureau',
  ];
  const child = spawn(
    process.execPath,
    [...args, '--features', JSON.stringify({ years_employed: features.years_employed, employed: features.employed })],
    {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', BLINDSCORE_PARTY_KEY: KEYS.acme.bureau },
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

function decrypt(b64: string): number {
  return decryptSerialized(keys.clientKey, b64);
}

describe('parties encrypting with the applicant\u2019s compact public key', () => {
  test('bank (SDK) and bureau (CLI) upload compact lists; the decision equals the cleartext model\u2019s', async () => {
    const features = sampleApplication(31);
    const s = await createSession(gw, 'acme');
    // The bank starts before the browser has uploaded the public key: the SDK waits for it.
    const bank = submitPartyInputs({
      gatewayUrl: gw.url.origin,
      partyKey: KEYS.acme.bank,
      sessionId: s.sessionId,
      party: 'bank',
      features: { account_age: features.account_age },
      publicKeyWaitMs: 60_000,
    });
    await applicantUploads(s, features);
    const bankReport: SubmitReport = await bank;
    expect(bankReport).toMatchObject({
      party: 'bank',
      inputs: [{ name: 'account_age', digits: 2 }],
      accepted: { party: 'bank', duplicate: false },
    });
    expect(bankReport.listBytes).toBe(16_512);
    expect(JSON.stringify(bankReport)).not.toContain(`"account_age":${features.account_age}`);

    const cli = await bureauCli(s, features);
    expect(cli.code, cli.stderr).toBe(0);
    const bureauReport = JSON.parse(cli.stdout) as SubmitReport;
    expect(bureauReport.accepted).toMatchObject({ party: 'bureau', missing: [] });
    expect(bureauReport.publicKeySha256).toBe(bankReport.publicKeySha256);

    expect((await gw.fetch(`/v1/sessions/${s.sessionId}/run`, { method: 'POST', headers: bearer(s.token) })).status).toBe(202);
    const status = await statusPast(gw, s, ['running', 'inputs'], 300_000);
    expect(status.state, JSON.stringify(status.run)).toBe('done');
    const result = ResultResponse.parse(await (await gw.fetch(`/v1/sessions/${s.sessionId}/result`, { headers: bearer(s.token) })).json());
    const expected = explainCodes(tree, quantizeParsed(manifest.inputs, features), manifest.explanation);
    expect({ decision: decrypt(result.decision), bits: result.explanation.ciphertexts.map(decrypt) }).toEqual(expected);

    // A party key reads the public key and the status, never the result or anything else.
    const bankKey = partyKey(KEYS.acme.bank);
    expect((await gw.fetch(`/v1/sessions/${s.sessionId}`, { headers: bankKey })).status).toBe(200);
    expect((await gw.fetch(`/v1/sessions/${s.sessionId}/public-key`, { headers: bankKey })).status).toBe(200);
    await expectError(await gw.fetch(`/v1/sessions/${s.sessionId}/result`, { headers: bankKey }), 403, 'token_required');
    await expectError(await gw.fetch(`/v1/sessions/${s.sessionId}/progress`, { headers: bankKey }), 403, 'token_required');
    await expectError(await gw.fetch(`/v1/sessions/${s.sessionId}`, { method: 'DELETE', headers: bankKey }), 403, 'token_required');
    // Nobody, the applicant's token included, can read a party's upload back.
    for (const headers of [bearer(s.token), bankKey]) {
      expect([404, 405]).toContain((await gw.fetch(`/v1/sessions/${s.sessionId}/inputs/bank`, { headers })).status);
    }
  });

  test('the manifest opens with a party key; unknown party keys are refused', async () => {
    const res = await gw.fetch('/v1/manifest', { headers: partyKey(KEYS.acme.bureau) });
    expect(res.status).toBe(200);
    expect(((await res.json()) as Manifest).modelVersion).toBe(manifest.modelVersion);
    await expectError(
      await gw.fetch('/v1/manifest', { headers: partyKey('sk_test_nobody_0123456789abcdef0123456789') }),
      401,
      'invalid_party_key',
    );
  });

  test('compact lists that do not fit the model are refused on upload, and the session lives on', async () => {
    const s = await createSession(gw, 'acme');
    const put = (body: unknown) => putJson(gw, `/v1/sessions/${s.sessionId}/inputs/bureau`, partyKey(KEYS.acme.bureau), body);
    const good = encryptCompact({
      manifest,
      party: 'bureau',
      features: { years_employed: '5-8', employed: true },
      publicKey: keys.compactPublicKeyBytes,
    });
    const bytes = base64ToBytes(good.list);
    const truncated = await expectError(await put({ ...good, list: bytesToBase64(bytes.subarray(0, 9_000)) }), 422, 'invalid_ciphertext');
    expect(truncated.details).toMatchObject({ engineCode: 'truncated' });
    const swapped = await expectError(await put({ ...good, inputs: [...good.inputs].reverse() }), 422, 'invalid_ciphertext');
    expect(swapped.message).toContain('declared');
    await expectError(await put({ ...good, inputs: [{ name: 'employed', digits: 1 }] }), 422, 'invalid_inputs');
    const packed = tfhe.CompactCiphertextList.builder(keys.compactPublicKey);
    packed.push_u4(2);
    packed.push_u2(1);
    await expectError(await put({ ...good, list: bytesToBase64(packed.build_packed().serialize()) }), 422, 'invalid_ciphertext');
    // The bank's key may not upload the bureau's inputs, whatever they hold.
    await expectError(
      await putJson(gw, `/v1/sessions/${s.sessionId}/inputs/bureau`, partyKey(KEYS.acme.bank), good),
      403,
      'party_not_allowed',
    );
    const accepted = await put(good);
    expect(accepted.status).toBe(201);
    expect(InputsAccepted.parse(await accepted.json()).received).toEqual(['bureau']);
  });

  test('the SDK reports the gateway\u2019s refusals as typed errors', async () => {
    const s = await createSession(gw, 'acme');
    const base = { gatewayUrl: gw.url.origin, sessionId: s.sessionId, party: 'bank' as const, features: { account_age: 3 } };
    const codeOf = (p: Promise<unknown>) =>
      p.then(
        () => 'resolved',
        (e: unknown) => (e instanceof PartyError ? e.code : `not a PartyError: ${String(e)}`),
      );
    expect(await codeOf(submitPartyInputs({ ...base, partyKey: KEYS.globex.bank }))).toBe('invalid_party_key');
    expect(await codeOf(submitPartyInputs({ ...base, partyKey: KEYS.acme.bank, publicKeyWaitMs: 500 }))).toBe('public_key_timeout');
    expect(await codeOf(submitPartyInputs({ ...base, partyKey: KEYS.acme.bank, features: { account_age: -4 }, publicKeyWaitMs: 0 }))).toBe(
      'public_key_timeout',
    );
    expect((await putOctets(gw, `/v1/sessions/${s.sessionId}/public-key`, bearer(s.token), keys.compactPublicKeyBytes)).status).toBe(201);
    expect(await codeOf(submitPartyInputs({ ...base, partyKey: KEYS.acme.bank, features: { account_age: -4 } }))).toBe('invalid_features');
    expect(await codeOf(submitPartyInputs({ ...base, partyKey: KEYS.acme.bank, sessionId: 'A'.repeat(22) }))).toBe('session_not_found');
  });
});
