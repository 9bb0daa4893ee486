/**
 * Uploads in real workerd: the real ~30 MB node-tfhe server key streamed into local R2, exact
 * sizes and hashes, idempotent repeats, body limits, malformed and mistyped bodies; real compact
 * public keys checked against the model's parameter set before they are stored.
 */
import { createHash } from 'node:crypto';
import * as tfhe from 'node-tfhe';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Manifest } from '../../model/manifest.ts';
import { PublicBodyLimits, PublicHeaders } from '../../protocol/public-api.ts';
import { loadPublicKeyTestKeys, loadTestKeys } from '../support/tfhe-keys.ts';
import { bearer, createSession, expectError, getManifest, putJson, putOctets, type Session } from './support/client.ts';
import { startGateway, type TestGateway } from './support/gateway.ts';
import { encryptPartyInputs, sampleApplication } from './support/inputs.ts';

let gw: TestGateway;
let manifest: Manifest;
const keys = loadTestKeys('tuniform');
const serverKey = keys.compressedServerKeyBytes;
const serverKeySha = createHash('sha256').update(serverKey).digest('hex');
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

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

  test('once a key is accepted, a different one is refused before its body is read, and repeats are never stored', async () => {
    const s = await createSession(gw);
    expect((await putOctets(gw, serverKeyPath(s), bearer(s.token), serverKey)).status).toBe(201);
    const stored = await gw.blobKeys(`sessions/${s.sessionId}/server-key/`);
    const put = (bytes: Uint8Array, headers: Record<string, string> = {}) =>
      putOctets(gw, serverKeyPath(s), { ...bearer(s.token), ...headers }, bytes);
    const other = serverKey.slice();
    other[0]! ^= 1;
    // Refused on the announcement alone: this body does not even hash to what it announces, which
    // the gateway would have found (400 body_hash_mismatch) had it streamed the body.
    const announced = await put(other, { [PublicHeaders.contentSha256]: 'ab'.repeat(32) });
    expect((await expectError(announced, 409, 'server_key_exists')).details).toEqual({ sha256: serverKeySha });
    // Another length cannot be the same key.
    await expectError(await put(new Uint8Array(serverKey.length + 1)), 409, 'server_key_exists');
    // Same length, no hash announced: the body is hashed, not stored.
    await expectError(await put(other), 409, 'server_key_exists');
    const repeat = await put(serverKey);
    expect(repeat.status).toBe(200);
    expect(await repeat.json()).toEqual({ bytes: serverKey.byteLength, sha256: serverKeySha, duplicate: true });
    expect(await gw.blobKeys(`sessions/${s.sessionId}/server-key/`)).toEqual(stored);
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

    await expectError(
      await gw.fetch(serverKeyPath(s), { method: 'PUT', headers: { ...bearer(s.token), 'content-type': 'text/plain' }, body: 'key' }),
      415,
      'unsupported_media_type',
    );
    await expectError(
      await putOctets(gw, `/v1/sessions/${s.sessionId}/public-key`, bearer(s.token), new Uint8Array(PublicBodyLimits.publicKey + 1)),
      413,
      'body_too_large',
    );
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
    expect(await repeat.json()).toMatchObject({
      duplicate: true,
      sha256: firstBody.sha256,
      received: ['applicant'],
      missing: ['bank', 'bureau'],
    });

    const replaced = await putJson(
      gw,
      inputsPath(s, 'applicant'),
      bearer(s.token),
      encryptPartyInputs(manifest, 'applicant', keys.clientKey, sampleApplication(11)),
    );
    expect(replaced.status).toBe(201);
    const replacedBody = (await replaced.json()) as { sha256: string };
    expect(replacedBody.sha256).not.toBe(firstBody.sha256);
    // One blob, under a name of its own (not the content hash): the replaced and repeated uploads are gone.
    const stored = await gw.blobKeys(`sessions/${s.sessionId}/inputs/`);
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatch(new RegExp(`^sessions/${s.sessionId}/inputs/applicant/[A-Za-z0-9_-]{16}$`));
  });

  test('malformed, mistyped, oversized and mismatched bodies get their codes', async () => {
    const s = await createSession(gw);
    const applicant = encryptPartyInputs(manifest, 'applicant', keys.clientKey);
    const path = inputsPath(s, 'applicant');
    await expectError(
      await gw.fetch(path, { method: 'PUT', headers: { ...bearer(s.token), 'content-type': 'application/json' }, body: '{"party": "appl' }),
      400,
      'invalid_json',
    );
    const invalid = await expectError(await putJson(gw, path, bearer(s.token), { ...applicant, extra: 1 }), 400, 'invalid_request');
    expect(invalid.details?.['issues']).toBeDefined();
    const badCiphertext = { ...applicant, inputs: { ...applicant.inputs, own_car: ['not base64!'] } };
    await expectError(await putJson(gw, path, bearer(s.token), badCiphertext), 400, 'invalid_request');
    await expectError(await putJson(gw, path, bearer(s.token), { ...applicant, party: 'bank' }), 400, 'party_mismatch');
    await expectError(
      await putJson(gw, path, bearer(s.token), { ...applicant, modelVersion: 'cd'.repeat(32) }),
      409,
      'model_version_mismatch',
    );
    await expectError(
      await gw.fetch(path, {
        method: 'PUT',
        headers: { ...bearer(s.token), 'content-type': 'text/plain' },
        body: JSON.stringify(applicant),
      }),
      415,
      'unsupported_media_type',
    );
    const padded = JSON.stringify(applicant).replace('{', `{${' '.repeat(PublicBodyLimits.partyInputs)}`);
    await expectError(
      await gw.fetch(path, { method: 'PUT', headers: { ...bearer(s.token), 'content-type': 'application/json' }, body: padded }),
      413,
      'body_too_large',
    );
    await expectError(await putJson(gw, inputsPath(s, 'nobody'), bearer(s.token), applicant), 400, 'invalid_request');
    expect(await gw.blobKeys(`sessions/${s.sessionId}/`)).toEqual([]);
    // After all that, the valid upload still works.
    expect((await putJson(gw, path, bearer(s.token), applicant)).status).toBe(201);
  });
});

describe('public key', () => {
  // The served model uses the TUniform set; the Gaussian set's key is well-formed but foreign.
  const publicKey = loadPublicKeyTestKeys('tuniform').compactPublicKeyBytes;
  const foreignKey = loadPublicKeyTestKeys('gaussian').compactPublicKeyBytes;
  const publicKeyPath = (s: Session) => `/v1/sessions/${s.sessionId}/public-key`;
  const download = async (s: Session) =>
    new Uint8Array(await (await gw.fetch(publicKeyPath(s), { headers: bearer(s.token) })).arrayBuffer());

  test('a real compact public key is stored once; repeats are harmless', async () => {
    const s = await createSession(gw);
    const first = await putOctets(gw, publicKeyPath(s), bearer(s.token), publicKey);
    expect(first.status).toBe(201);
    expect(await first.json()).toEqual({ bytes: publicKey.byteLength, sha256: sha256(publicKey), duplicate: false });
    const again = await putOctets(gw, publicKeyPath(s), bearer(s.token), publicKey);
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ duplicate: true });
    const announced = await putOctets(
      gw,
      publicKeyPath(s),
      { ...bearer(s.token), [PublicHeaders.contentSha256]: sha256(publicKey) },
      publicKey,
    );
    expect(announced.status).toBe(200);
    expect(await download(s)).toEqual(publicKey);
    expect(await gw.blobKeys(`sessions/${s.sessionId}/public-key/`)).toHaveLength(1);
  });

  test('garbage, truncated, padded and foreign keys are 422 invalid_public_key, and nothing is stored', async () => {
    const s = await createSession(gw);
    const put = (body: Uint8Array) => putOctets(gw, publicKeyPath(s), bearer(s.token), body);
    const garbage = await expectError(await put(crypto.getRandomValues(new Uint8Array(publicKey.byteLength))), 422, 'invalid_public_key');
    expect(garbage.message).toMatch(/not a tfhe 1\.6\.1 compact public key/);
    expect(garbage.details).toMatchObject({ parameterSet: 'tuniform' });

    const truncated = await expectError(await put(publicKey.subarray(0, publicKey.byteLength - 1)), 422, 'invalid_public_key');
    expect(truncated.details).toMatchObject({ keyCode: 'truncated' });
    expect(truncated.message).toMatch(/only \d+ remain/);
    const header = await expectError(await put(publicKey.subarray(0, 100)), 422, 'invalid_public_key');
    expect(header.details).toMatchObject({ keyCode: 'truncated' });
    const padded = new Uint8Array(publicKey.byteLength + 8);
    padded.set(publicKey);
    expect((await expectError(await put(padded), 422, 'invalid_public_key')).details).toMatchObject({ keyCode: 'trailing_bytes' });

    const foreign = await expectError(await put(foreignKey), 422, 'invalid_public_key');
    expect(foreign.details).toMatchObject({ keyCode: 'parameter_mismatch' });
    expect(foreign.message).toContain(manifest.parameterSet.tfheName);
    expect(foreign.message).toContain('gaussian noise, expected tuniform');

    // A key of the default configuration with dedicated public-key parameters: right set family,
    // but its lists need a casting key the evaluator does not hold.
    const pke = new tfhe.ShortintCompactPublicKeyEncryptionParameters(
      tfhe.ShortintCompactPublicKeyEncryptionParametersName.PARAM_PKE_MESSAGE_2_CARRY_2_KS_PBS_TUNIFORM_2M128,
    );
    const config = tfhe.TfheConfigBuilder.default().use_dedicated_compact_public_key_parameters(pke).build();
    const casting = await expectError(
      await put(tfhe.TfheCompactPublicKey.new(tfhe.TfheClientKey.generate(config)).serialize()),
      422,
      'invalid_public_key',
    );
    expect(casting.message).toContain('casting key');

    // An announced hash is checked before the key is parsed.
    await expectError(
      await putOctets(gw, publicKeyPath(s), { ...bearer(s.token), [PublicHeaders.contentSha256]: 'ab'.repeat(32) }, publicKey),
      400,
      'body_hash_mismatch',
    );

    expect(await gw.blobKeys(`sessions/${s.sessionId}/`)).toEqual([]);
    const status = await (await gw.fetch(`/v1/sessions/${s.sessionId}`, { headers: bearer(s.token) })).json();
    expect(status).toMatchObject({ publicKey: { received: false } });
    await expectError(await gw.fetch(publicKeyPath(s), { headers: bearer(s.token) }), 409, 'public_key_not_ready');
    // The valid key is still accepted afterwards.
    expect((await put(publicKey)).status).toBe(201);
  });

  test('after a refused key the accepted one is untouched and still served', async () => {
    const s = await createSession(gw);
    expect((await putOctets(gw, publicKeyPath(s), bearer(s.token), publicKey)).status).toBe(201);
    await expectError(await putOctets(gw, publicKeyPath(s), bearer(s.token), foreignKey), 422, 'invalid_public_key');
    await expectError(await putOctets(gw, publicKeyPath(s), bearer(s.token), publicKey.subarray(0, 32_000)), 422, 'invalid_public_key');
    // Another valid key of the right set (the same secret, fresh randomness) is a conflict, not a replacement.
    const otherKey = tfhe.TfheCompactPublicKey.new(loadPublicKeyTestKeys('tuniform').hlClientKey).serialize();
    expect(otherKey).not.toEqual(publicKey);
    const conflict = await expectError(await putOctets(gw, publicKeyPath(s), bearer(s.token), otherKey), 409, 'public_key_exists');
    expect(conflict.details).toEqual({ sha256: sha256(publicKey) });
    expect(await download(s)).toEqual(publicKey);
    const status = await (await gw.fetch(`/v1/sessions/${s.sessionId}`, { headers: bearer(s.token) })).json();
    expect(status).toMatchObject({ publicKey: { received: true, bytes: publicKey.byteLength, sha256: sha256(publicKey) } });
    expect(await gw.blobKeys(`sessions/${s.sessionId}/public-key/`)).toHaveLength(1);
  });
});
