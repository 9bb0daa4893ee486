/**
 * Uploads in real workerd: the real ~30 MB node-tfhe server key streamed into local R2, exact
 * sizes and hashes, idempotent repeats, body limits, malformed and mistyped bodies.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Manifest } from '../../model/manifest.ts';
import { PublicBodyLimits, PublicHeaders } from '../../protocol/public-api.ts';
import { loadTestKeys } from '../support/tfhe-keys.ts';
import { bearer, createSession, expectError, getManifest, putJson, putOctets, type Session } from './support/client.ts';
import { startGateway, type TestGateway } from './support/gateway.ts';
import { encryptPartyInputs, sampleApplication } from './support/inputs.ts';

let gw: TestGateway;
let manifest: Manifest;
const keys = loadTestKeys('tuniform');
const serverKey = keys.compressedServerKeyBytes;
const serverKeySha = createHash('sha256').update(serverKey).digest('hex');

beforeAll(async () => {
  gw = await startGateway();
  manifest = await getManifest(gw);
});
afterAll(() => gw?.dispose());

const serverKeyPath = (s: Session) => `/v1/sessions/${s.sessionId}/server-key`;
const inputsPath = (s: Session, party: string) => `/v1/sessions/${s.sessionId}/inputs/${party}`;

describe('server key', () => {
  test('the real compressed server key streams into R2 once; repeats are harmless', async () => {
    const s = await createSession(gw);
    const first = await putOctets(gw, serverKeyPath(s), bearer(s.token), serverKey);
    expect(first.status).toBe(201);
    expect(await first.json()).toEqual({ bytes: serverKey.byteLength, sha256: serverKeySha, duplicate: false });

    const again = await putOctets(gw, serverKeyPath(s), bearer(s.token), serverKey);
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ bytes: serverKey.byteLength, sha256: serverKeySha, duplicate: true });

    // With the hash announced, a repeat is answered without storing anything.
    const announced = await putOctets(gw, serverKeyPath(s), { ...bearer(s.token), [PublicHeaders.contentSha256]: serverKeySha }, serverKey);
    expect(announced.status).toBe(200);

    const other = serverKey.slice();
    other[other.length - 1]! ^= 1;
    const conflict = await expectError(await putOctets(gw, serverKeyPath(s), bearer(s.token), other), 409, 'server_key_exists');
    expect(conflict.details).toEqual({ sha256: serverKeySha });

    const status = await (await gw.fetch(`/v1/sessions/${s.sessionId}`, { headers: bearer(s.token) })).json();
    expect(status).toMatchObject({ state: 'keys', serverKey: { received: true, bytes: serverKey.byteLength, sha256: serverKeySha } });
    // One stored copy: duplicates and the refused key were removed.
    expect(await gw.blobKeys(`sessions/${s.sessionId}/server-key/`)).toHaveLength(1);
  });

  test('a body that does not hash to the announced SHA-256 is refused and not kept', async () => {
    const s = await createSession(gw);
    await expectError(
      await putOctets(gw, serverKeyPath(s), { ...bearer(s.token), [PublicHeaders.contentSha256]: 'ab'.repeat(32) }, serverKey),
      400,
      'body_hash_mismatch',
    );
    expect(await gw.blobKeys(`sessions/${s.sessionId}/`)).toEqual([]);
  });

  test('over the cap is 413, without a length 411, another media type 415', async () => {
    const s = await createSession(gw);
    const tooBig = new Uint8Array(PublicBodyLimits.serverKey + 1);
    const big = await expectError(await putOctets(gw, serverKeyPath(s), bearer(s.token), tooBig), 413, 'body_too_large');
    expect(big.details).toEqual({ limit: PublicBodyLimits.serverKey });

    const chunked = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(serverKey.subarray(0, 1024));
        controller.close();
      },
    });
    const noLength = await gw.fetch(serverKeyPath(s), {
      method: 'PUT',
      headers: { ...bearer(s.token), 'content-type': 'application/octet-stream' },
      body: chunked,
      duplex: 'half',
    } as RequestInit);
    await expectError(noLength, 411, 'length_required');

    await expectError(await gw.fetch(serverKeyPath(s), { method: 'PUT', headers: { ...bearer(s.token), 'content-type': 'text/plain' }, body: 'key' }), 415, 'unsupported_media_type');
    await expectError(await putOctets(gw, `/v1/sessions/${s.sessionId}/public-key`, bearer(s.token), new Uint8Array(PublicBodyLimits.publicKey + 1)), 413, 'body_too_large');
    expect(await gw.blobKeys(`sessions/${s.sessionId}/`)).toEqual([]);
  });
});

describe('party inputs', () => {
  test('byte-identical repeats are duplicates; new inputs replace old ones', async () => {
    const s = await createSession(gw);
    const applicant = encryptPartyInputs(manifest, 'applicant', keys.clientKey);
    const first = await putJson(gw, inputsPath(s, 'applicant'), bearer(s.token), applicant);
    expect(first.status).toBe(201);
    const firstBody = (await first.json()) as { sha256: string };
    const repeat = await putJson(gw, inputsPath(s, 'applicant'), bearer(s.token), applicant);
    expect(repeat.status).toBe(200);
    expect(await repeat.json()).toMatchObject({ duplicate: true, sha256: firstBody.sha256, received: ['applicant'], missing: ['bank', 'bureau'] });

    const replaced = await putJson(gw, inputsPath(s, 'applicant'), bearer(s.token), encryptPartyInputs(manifest, 'applicant', keys.clientKey, sampleApplication(11)));
    expect(replaced.status).toBe(201);
    const replacedBody = (await replaced.json()) as { sha256: string };
    expect(replacedBody.sha256).not.toBe(firstBody.sha256);
    expect(await gw.blobKeys(`sessions/${s.sessionId}/inputs/`)).toEqual([`sessions/${s.sessionId}/inputs/applicant/${replacedBody.sha256}`]);
  });

  test('malformed, mistyped, oversized and mismatched bodies get their codes', async () => {
    const s = await createSession(gw);
    const applicant = encryptPartyInputs(manifest, 'applicant', keys.clientKey);
    const path = inputsPath(s, 'applicant');
    await expectError(await gw.fetch(path, { method: 'PUT', headers: { ...bearer(s.token), 'content-type': 'application/json' }, body: '{"party": "appl' }), 400, 'invalid_json');
    const invalid = await expectError(await putJson(gw, path, bearer(s.token), { ...applicant, extra: 1 }), 400, 'invalid_request');
    expect(invalid.details?.['issues']).toBeDefined();
    const badCiphertext = { ...applicant, inputs: { ...applicant.inputs, own_car: ['not base64!'] } };
    await expectError(await putJson(gw, path, bearer(s.token), badCiphertext), 400, 'invalid_request');
    await expectError(await putJson(gw, path, bearer(s.token), { ...applicant, party: 'bank' }), 400, 'party_mismatch');
    await expectError(await putJson(gw, path, bearer(s.token), { ...applicant, modelVersion: 'cd'.repeat(32) }), 409, 'model_version_mismatch');
    await expectError(await gw.fetch(path, { method: 'PUT', headers: { ...bearer(s.token), 'content-type': 'text/plain' }, body: JSON.stringify(applicant) }), 415, 'unsupported_media_type');
    const padded = JSON.stringify(applicant).replace('{', `{${' '.repeat(PublicBodyLimits.partyInputs)}`);
    await expectError(await gw.fetch(path, { method: 'PUT', headers: { ...bearer(s.token), 'content-type': 'application/json' }, body: padded }), 413, 'body_too_large');
    await expectError(await putJson(gw, inputsPath(s, 'nobody'), bearer(s.token), applicant), 400, 'invalid_request');
    expect(await gw.blobKeys(`sessions/${s.sessionId}/`)).toEqual([]);
    // After all that, the valid upload still works.
    expect((await putJson(gw, path, bearer(s.token), applicant)).status).toBe(201);
  });
});
