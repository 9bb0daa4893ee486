/**
 * Which encodings a party key may upload, in workerd. A party backend never holds the
 * applicant's secret key, so `shortint-compressed` ciphertexts it sends were made under some
 * other key: they would decrypt to noise and silently give a wrong decision. On a production
 * tenant a party key uploads only `compact-list` inputs (encrypted with the session's compact
 * public key); a demo tenant, whose page encrypts every party's panel with the applicant's key,
 * keeps accepting both.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Manifest } from '../../model/manifest.ts';
import { InputsAccepted } from '../../protocol/public-api.ts';
import { loadPublicKeyTestKeys } from '../support/tfhe-keys.ts';
import { bearer, createSession, expectError, getManifest, partyKey, putJson } from './support/client.ts';
import { startGateway, type TestGateway } from './support/gateway.ts';
import { encryptCompactInputs, encryptPartyInputs as encryptWithSecretKey, sampleApplication } from './support/inputs.ts';
import { KEYS, type TenantName } from './support/tenants.ts';

const keys = loadPublicKeyTestKeys('tuniform');
const features = sampleApplication(11);

let gw: TestGateway;
let manifest: Manifest;

beforeAll(async () => {
  gw = await startGateway();
  manifest = await getManifest(gw);
});
afterAll(async () => {
  await gw?.dispose();
});

function uploads(party: 'bank' | 'bureau') {
  return {
    compressed: encryptWithSecretKey(manifest, party, keys.clientKey, features),
    compact: encryptCompactInputs(manifest, party, keys.compactPublicKeyBytes, features),
  };
}

const inputsPath = (sessionId: string, party: string) => `/v1/sessions/${sessionId}/inputs/${party}`;

describe('party-key uploads by encoding', () => {
  test('a production tenant\u2019s party keys may upload only compact lists: compressed ciphertexts are refused before storing', async () => {
    const s = await createSession(gw, 'acme');
    for (const party of ['bank', 'bureau'] as const) {
      const { compressed, compact } = uploads(party);
      const stored = (await gw.blobKeys()).filter((k) => k.includes(s.sessionId));
      const refused = await expectError(
        await putJson(gw, inputsPath(s.sessionId, party), partyKey(KEYS.acme[party]), compressed),
        422,
        'invalid_inputs',
      );
      expect(refused.message).toContain('compact-list');
      expect(refused.details).toMatchObject({ encoding: 'shortint-compressed', expected: 'compact-list' });
      expect((await gw.blobKeys()).filter((k) => k.includes(s.sessionId))).toEqual(stored);
      const accepted = await putJson(gw, inputsPath(s.sessionId, party), partyKey(KEYS.acme[party]), compact);
      expect(accepted.status).toBe(201);
    }
  });

  test('the session token still uploads the applicant\u2019s compressed inputs on a production tenant', async () => {
    const s = await createSession(gw, 'acme');
    const applicant = encryptWithSecretKey(manifest, 'applicant', keys.clientKey, features);
    expect((await putJson(gw, inputsPath(s.sessionId, 'applicant'), bearer(s.token), applicant)).status).toBe(201);
  });

  test('a demo tenant accepts either encoding from party keys and from the session token', async () => {
    const tenant: TenantName = 'demo';
    const demoManifest = await getManifest(gw, tenant);
    expect(demoManifest.modelVersion).toBe(manifest.modelVersion);
    const s = await createSession(gw, tenant);
    const bank = uploads('bank');
    const bureau = uploads('bureau');
    const byKey = await putJson(gw, inputsPath(s.sessionId, 'bank'), partyKey(KEYS.demo.bank), bank.compressed);
    expect(byKey.status).toBe(201);
    expect((await putJson(gw, inputsPath(s.sessionId, 'bank'), partyKey(KEYS.demo.bank), bank.compact)).status).toBe(201);
    const byToken = await putJson(gw, inputsPath(s.sessionId, 'bureau'), bearer(s.token), bureau.compressed);
    expect(byToken.status).toBe(201);
    expect(InputsAccepted.parse(await byToken.json()).received).toEqual(['bank', 'bureau']);
  });
});
