/**
 * Authentication and authorization in real workerd: publishable key + Origin for browsers,
 * capability tokens for sessions, party keys for bank and bureau backends, per-tenant CORS.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PublicHeaders, SessionStatus } from '../../protocol/public-api.ts';
import type { Manifest } from '../../model/manifest.ts';
import { loadPublicKeyTestKeys, loadTestKeys } from '../support/tfhe-keys.ts';
import { bearer, createSession, expectError, getManifest, partyKey, putJson, putOctets, sessionStatus } from './support/client.ts';
import { startGateway, type TestGateway } from './support/gateway.ts';
import { encryptCompactInputs, encryptPartyInputs } from './support/inputs.ts';
import { KEYS, testTenants } from './support/tenants.ts';

const ACME_BRAND = { theme: 'night', variables: { accent: '#60a5fa' } };

let gw: TestGateway;
let manifest: Manifest;
const { clientKey, compressedServerKeyBytes: serverKey } = loadTestKeys('tuniform');
const publicKey = loadPublicKeyTestKeys('tuniform').compactPublicKeyBytes;

beforeAll(async () => {
  gw = await startGateway({ tenants: testTenants({ acme: { appearance: ACME_BRAND } }) });
  manifest = await getManifest(gw);
});
afterAll(() => gw?.dispose());

const pk = (tenant: keyof typeof KEYS) => ({ [PublicHeaders.publishableKey]: KEYS[tenant].publishable });

function postSession(headers: Record<string, string>, body: unknown = { modelVersion: manifest.modelVersion }) {
  return gw.fetch('/v1/sessions', {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

describe('publishable key and Origin', () => {
  test('the manifest needs a publishable key', async () => {
    await expectError(await gw.fetch('/v1/manifest'), 401, 'missing_credentials');
    await expectError(
      await gw.fetch('/v1/manifest', { headers: { [PublicHeaders.publishableKey]: 'pk_test_nobody_0123456789abcdef' } }),
      401,
      'invalid_publishable_key',
    );
  });

  test('creating a session needs the key and one of its tenant\u2019s origins', async () => {
    await expectError(await postSession({ origin: KEYS.acme.origin }), 401, 'missing_credentials');
    await expectError(await postSession(pk('acme')), 403, 'origin_not_allowed');
    await expectError(await postSession({ ...pk('acme'), origin: KEYS.globex.origin }), 403, 'origin_not_allowed');
    await expectError(await postSession({ ...pk('acme'), origin: 'https://bank.acme.example.evil.test' }), 403, 'origin_not_allowed');
    const res = await postSession({ ...pk('acme'), origin: KEYS.acme.origin });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { sessionId: string; token: string; status: { state: string; demo: boolean } };
    expect(body.sessionId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(body.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(body.status).toMatchObject({ state: 'created', demo: false });
  });

  test('a session must name the served model version', async () => {
    const body = await expectError(
      await postSession({ ...pk('acme'), origin: KEYS.acme.origin }, { modelVersion: 'ab'.repeat(32) }),
      409,
      'model_version_mismatch',
    );
    expect(body.details).toEqual({ modelVersion: manifest.modelVersion });
  });
});

describe('session token', () => {
  test('each session opens only with its own token', async () => {
    const a = await createSession(gw);
    const b = await createSession(gw);
    expect((await gw.fetch(`/v1/sessions/${a.sessionId}`, { headers: bearer(a.token) })).status).toBe(200);
    await expectError(await gw.fetch(`/v1/sessions/${a.sessionId}`), 401, 'missing_credentials');
    await expectError(await gw.fetch(`/v1/sessions/${a.sessionId}`, { headers: bearer(b.token) }), 401, 'invalid_token');
    await expectError(await gw.fetch(`/v1/sessions/${a.sessionId}`, { headers: bearer('A'.repeat(43)) }), 401, 'invalid_token');
    await expectError(await gw.fetch(`/v1/sessions/${a.sessionId}`, { headers: { authorization: a.token } }), 401, 'invalid_token');
    await expectError(await gw.fetch(`/v1/sessions/${a.sessionId}/result`, { headers: bearer(b.token) }), 401, 'invalid_token');
    await expectError(await gw.fetch(`/v1/sessions/${a.sessionId}`, { method: 'DELETE', headers: bearer(b.token) }), 401, 'invalid_token');
    // The failed attempts changed nothing.
    expect((await gw.fetch(`/v1/sessions/${a.sessionId}`, { headers: bearer(a.token) })).status).toBe(200);
  });

  test('unknown and malformed session ids are 404', async () => {
    const a = await createSession(gw);
    await expectError(await gw.fetch('/v1/sessions/AAAAAAAAAAAAAAAAAAAAAA', { headers: bearer(a.token) }), 404, 'session_not_found');
    await expectError(await gw.fetch('/v1/sessions/not-an-id', { headers: bearer(a.token) }), 404, 'session_not_found');
  });

  test('a browser on another tenant\u2019s origin cannot use a token', async () => {
    const a = await createSession(gw);
    const res = await gw.fetch(`/v1/sessions/${a.sessionId}`, { headers: { ...bearer(a.token), origin: KEYS.globex.origin } });
    const refused = await expectError(res, 403, 'origin_not_allowed');
    expect(refused.message).toContain(KEYS.globex.origin);
    // The refusal is readable by the refused page (so it can say why), and by nothing more.
    expect(res.headers.get('access-control-allow-origin')).toBe(KEYS.globex.origin);
    const ok = await gw.fetch(`/v1/sessions/${a.sessionId}`, { headers: { ...bearer(a.token), origin: KEYS.acme.origin } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe(KEYS.acme.origin);
  });

  test('a token and a party key together are refused', async () => {
    const a = await createSession(gw);
    await expectError(
      await gw.fetch(`/v1/sessions/${a.sessionId}`, { headers: { ...bearer(a.token), ...partyKey(KEYS.acme.bank) } }),
      400,
      'invalid_request',
    );
  });
});

describe('party keys', () => {
  test('a party key reads status and the public key of its tenant\u2019s sessions only', async () => {
    const a = await createSession(gw);
    const status = await gw.fetch(`/v1/sessions/${a.sessionId}`, { headers: partyKey(KEYS.acme.bank) });
    expect(status.status).toBe(200);
    await expectError(
      await gw.fetch(`/v1/sessions/${a.sessionId}/public-key`, { headers: partyKey(KEYS.acme.bureau) }),
      409,
      'public_key_not_ready',
    );
    expect((await putOctets(gw, `/v1/sessions/${a.sessionId}/public-key`, bearer(a.token), publicKey)).status).toBe(201);
    const got = await gw.fetch(`/v1/sessions/${a.sessionId}/public-key`, { headers: partyKey(KEYS.acme.bureau) });
    expect(got.status).toBe(200);
    expect(new Uint8Array(await got.arrayBuffer())).toEqual(publicKey);
    await expectError(await gw.fetch(`/v1/sessions/${a.sessionId}`, { headers: partyKey(KEYS.globex.bank) }), 401, 'invalid_party_key');
    await expectError(
      await gw.fetch(`/v1/sessions/${a.sessionId}/public-key`, { headers: partyKey(KEYS.globex.bureau) }),
      401,
      'invalid_party_key',
    );
    await expectError(
      await gw.fetch(`/v1/sessions/${a.sessionId}`, { headers: partyKey('sk_test_unknown_0123456789abcdef0123456789') }),
      401,
      'invalid_party_key',
    );
  });

  test('a party key uploads its own party\u2019s inputs and nothing else', async () => {
    const a = await createSession(gw);
    const bank = encryptPartyInputs(manifest, 'bank', clientKey);
    const bureau = encryptPartyInputs(manifest, 'bureau', clientKey);
    await expectError(
      await putJson(gw, `/v1/sessions/${a.sessionId}/inputs/bureau`, partyKey(KEYS.acme.bank), bureau),
      403,
      'party_not_allowed',
    );
    await expectError(
      await putJson(gw, `/v1/sessions/${a.sessionId}/inputs/bank`, partyKey(KEYS.acme.bureau), bank),
      403,
      'party_not_allowed',
    );
    await expectError(
      await putJson(
        gw,
        `/v1/sessions/${a.sessionId}/inputs/applicant`,
        partyKey(KEYS.acme.bank),
        encryptPartyInputs(manifest, 'applicant', clientKey),
      ),
      403,
      'party_not_allowed',
    );
    await expectError(
      await putJson(gw, `/v1/sessions/${a.sessionId}/inputs/bank`, partyKey(KEYS.globex.bank), bank),
      401,
      'invalid_party_key',
    );
    // A production tenant's party keys upload compact lists only (see party-encoding.test.ts).
    const ok = await putJson(
      gw,
      `/v1/sessions/${a.sessionId}/inputs/bank`,
      partyKey(KEYS.acme.bank),
      encryptCompactInputs(manifest, 'bank', publicKey),
    );
    expect(ok.status).toBe(201);
    expect(await ok.json()).toMatchObject({ party: 'bank', duplicate: false, received: ['bank'] });
  });

  test('a party key on a request with an Origin (from a web page) is refused, whatever the key, origin or route', async () => {
    const a = await createSession(gw);
    const upload = encryptCompactInputs(manifest, 'bank', publicKey);
    for (const origin of [KEYS.acme.origin, 'https://evil.example', 'null']) {
      const fromPage = { ...partyKey(KEYS.acme.bank), origin };
      const refused = await expectError(
        await putJson(gw, `/v1/sessions/${a.sessionId}/inputs/bank`, fromPage, upload),
        403,
        'party_key_server_only',
      );
      expect(refused.message).toMatch(/servers/);
      await expectError(await gw.fetch(`/v1/sessions/${a.sessionId}`, { headers: fromPage }), 403, 'party_key_server_only');
      await expectError(await gw.fetch(`/v1/sessions/${a.sessionId}/public-key`, { headers: fromPage }), 403, 'party_key_server_only');
      await expectError(await gw.fetch('/v1/manifest', { headers: fromPage }), 403, 'party_key_server_only');
      // Refused before the key is looked up: a page cannot tell a valid key from an unknown one.
      await expectError(
        await gw.fetch('/v1/manifest', { headers: { ...partyKey('sk_test_unknown_0123456789abcdef0123456789'), origin } }),
        403,
        'party_key_server_only',
      );
    }
    expect(await gw.blobKeys(`sessions/${a.sessionId}/`)).toEqual([]);
    // The same key from a server (no Origin) works.
    expect((await putJson(gw, `/v1/sessions/${a.sessionId}/inputs/bank`, partyKey(KEYS.acme.bank), upload)).status).toBe(201);
  });

  test('party keys cannot run, read results, upload keys or delete', async () => {
    const a = await createSession(gw);
    const key = partyKey(KEYS.acme.bank);
    await expectError(await gw.fetch(`/v1/sessions/${a.sessionId}/run`, { method: 'POST', headers: key }), 403, 'token_required');
    await expectError(await gw.fetch(`/v1/sessions/${a.sessionId}/result`, { headers: key }), 403, 'token_required');
    await expectError(await gw.fetch(`/v1/sessions/${a.sessionId}/progress`, { headers: key }), 403, 'token_required');
    await expectError(await gw.fetch(`/v1/sessions/${a.sessionId}`, { method: 'DELETE', headers: key }), 403, 'token_required');
    await expectError(await putOctets(gw, `/v1/sessions/${a.sessionId}/server-key`, key, new Uint8Array(16)), 403, 'token_required');
    await expectError(await putOctets(gw, `/v1/sessions/${a.sessionId}/public-key`, key, publicKey), 403, 'token_required');
    expect(await gw.blobKeys(`sessions/${a.sessionId}/`)).toEqual([]);
  });

  test('with everything uploaded, a party key reads the public key and the status, and no other blob', async () => {
    const a = await createSession(gw);
    const sk = await putOctets(gw, `/v1/sessions/${a.sessionId}/server-key`, bearer(a.token), serverKey);
    expect(sk.status).toBe(201);
    const pkr = await putOctets(gw, `/v1/sessions/${a.sessionId}/public-key`, bearer(a.token), publicKey);
    expect(pkr.status, `${[...pkr.headers]} ${await pkr.clone().text()}`).toBe(201);
    expect(
      (
        await putJson(
          gw,
          `/v1/sessions/${a.sessionId}/inputs/applicant`,
          bearer(a.token),
          encryptPartyInputs(manifest, 'applicant', clientKey),
        )
      ).status,
    ).toBe(201);
    expect(
      (
        await putJson(
          gw,
          `/v1/sessions/${a.sessionId}/inputs/bank`,
          partyKey(KEYS.acme.bank),
          encryptCompactInputs(manifest, 'bank', publicKey),
        )
      ).status,
    ).toBe(201);
    expect(
      (
        await putJson(
          gw,
          `/v1/sessions/${a.sessionId}/inputs/bureau`,
          partyKey(KEYS.acme.bureau),
          encryptCompactInputs(manifest, 'bureau', publicKey),
        )
      ).status,
    ).toBe(201);
    expect(await gw.blobKeys(`sessions/${a.sessionId}/`)).toHaveLength(5);

    for (const [party, key] of [
      ['bank', partyKey(KEYS.acme.bank)],
      ['bureau', partyKey(KEYS.acme.bureau)],
    ] as const) {
      const status = await gw.fetch(`/v1/sessions/${a.sessionId}`, { headers: key });
      expect(status.status).toBe(200);
      // Sizes and hashes only: the status carries no key or ciphertext bytes.
      const body = SessionStatus.parse(await status.json());
      expect(body).toMatchObject({
        state: 'inputs',
        serverKey: { received: true },
        parties: { received: ['applicant', 'bank', 'bureau'] },
      });
      expect(JSON.stringify(body).length, party).toBeLessThan(2048);
      const got = await gw.fetch(`/v1/sessions/${a.sessionId}/public-key`, { headers: key });
      expect(got.status).toBe(200);
      expect(new Uint8Array(await got.arrayBuffer())).toEqual(publicKey);
      // No route serves the server key or any party's inputs, to a party key or anyone.
      for (const path of ['server-key', 'inputs/applicant', 'inputs/bank', 'inputs/bureau']) {
        await expectError(await gw.fetch(`/v1/sessions/${a.sessionId}/${path}`, { headers: key }), 405, 'method_not_allowed');
      }
      await expectError(await gw.fetch(`/v1/sessions/${a.sessionId}/result`, { headers: key }), 403, 'token_required');
      await expectError(await gw.fetch(`/v1/sessions/${a.sessionId}/progress`, { headers: key }), 403, 'token_required');
    }
  });

  test('a party key\u2019s status names no key hash or size, so sessions that reuse cached keys cannot be linked', async () => {
    const statuses = [];
    for (const s of [await createSession(gw), await createSession(gw)]) {
      // A returning applicant: the same cached keys in both sessions.
      expect((await putOctets(gw, `/v1/sessions/${s.sessionId}/server-key`, bearer(s.token), serverKey)).status).toBe(201);
      expect((await putOctets(gw, `/v1/sessions/${s.sessionId}/public-key`, bearer(s.token), publicKey)).status).toBe(201);
      const byBank = SessionStatus.parse(
        await (await gw.fetch(`/v1/sessions/${s.sessionId}`, { headers: partyKey(KEYS.acme.bank) })).json(),
      );
      expect({ serverKey: byBank.serverKey, publicKey: byBank.publicKey }).toEqual({
        serverKey: { received: true },
        publicKey: { received: true },
      });
      const byToken = await sessionStatus(gw, s);
      expect(byToken.serverKey).toMatchObject({
        received: true,
        bytes: serverKey.byteLength,
        sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      });
      expect(byToken.publicKey).toMatchObject({ received: true, bytes: publicKey.byteLength });
      statuses.push(byBank);
    }
    // Nothing key-derived in the party's view: apart from ids and times, both sessions look alike.
    const strip = ({ sessionId: _id, createdAt: _c, expiresAt: _e, ...rest }: SessionStatus) => rest;
    expect(strip(statuses[0]!)).toEqual(strip(statuses[1]!));
    // The download still carries the public key's hash, for the party to check what it encrypts under.
    const s = await createSession(gw);
    await putOctets(gw, `/v1/sessions/${s.sessionId}/public-key`, bearer(s.token), publicKey);
    const got = await gw.fetch(`/v1/sessions/${s.sessionId}/public-key`, { headers: partyKey(KEYS.acme.bureau) });
    expect(got.headers.get(PublicHeaders.contentSha256)).toMatch(/^[0-9a-f]{64}$/);
    await got.arrayBuffer();
  });

  test('the session token uploads only the applicant\u2019s inputs, except for demo tenants', async () => {
    const acme = await createSession(gw, 'acme');
    await expectError(
      await putJson(gw, `/v1/sessions/${acme.sessionId}/inputs/bank`, bearer(acme.token), encryptPartyInputs(manifest, 'bank', clientKey)),
      403,
      'party_not_allowed',
    );
    const applicant = await putJson(
      gw,
      `/v1/sessions/${acme.sessionId}/inputs/applicant`,
      bearer(acme.token),
      encryptPartyInputs(manifest, 'applicant', clientKey),
    );
    expect(applicant.status).toBe(201);
    const demo = await createSession(gw, 'demo');
    for (const party of ['applicant', 'bank', 'bureau'] as const) {
      const res = await putJson(
        gw,
        `/v1/sessions/${demo.sessionId}/inputs/${party}`,
        bearer(demo.token),
        encryptPartyInputs(manifest, party, clientKey),
      );
      expect(res.status).toBe(201);
    }
  });
});

describe('CORS', () => {
  test('preflights are answered for any origin (the request itself is refused) and never allow the party-key header', async () => {
    const res = await gw.fetch('/v1/sessions', {
      method: 'OPTIONS',
      headers: {
        origin: KEYS.demo.origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type, x-blindscore-key',
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(KEYS.demo.origin);
    const allowed = res.headers.get('access-control-allow-headers')!.split(/,\s*/);
    expect(allowed).toEqual(expect.arrayContaining(['authorization', 'content-type', PublicHeaders.publishableKey]));
    expect(allowed).not.toContain(PublicHeaders.partyKey);
    // A preflight does nothing: answering it lets a refused page read the actual request's refusal.
    const other = await gw.fetch('/v1/sessions', {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.test', 'access-control-request-method': 'POST' },
    });
    expect(other.status).toBe(204);
    expect(other.headers.get('access-control-allow-origin')).toBe('https://evil.test');
    expect(other.headers.get('access-control-allow-credentials')).toBeNull();
    const refused = await postSession({ ...pk('acme'), origin: 'https://evil.test' });
    const body = await expectError(refused, 403, 'origin_not_allowed');
    expect(body).toMatchObject({ details: { origin: 'https://evil.test' } });
    expect(body.message).toContain('https://evil.test');
    expect(refused.headers.get('access-control-allow-origin')).toBe('https://evil.test');
    expect(refused.headers.get('access-control-expose-headers')).toBe('x-request-id, retry-after, x-blindscore-run-id');
    expect(refused.headers.get('access-control-allow-credentials')).toBeNull();
    const noOrigin = await gw.fetch('/v1/sessions', { method: 'OPTIONS', headers: { 'access-control-request-method': 'POST' } });
    await expectError(noOrigin, 403, 'origin_not_allowed');
  });

  test('GET /v1/appearance: the tenant\u2019s brand, or null, for its own origins', async () => {
    const acme = await gw.fetch('/v1/appearance', { headers: { ...pk('acme'), origin: KEYS.acme.origin } });
    expect(acme.status).toBe(200);
    expect(await acme.json()).toEqual({ appearance: ACME_BRAND });
    const demo = await gw.fetch('/v1/appearance', { headers: { ...pk('demo'), origin: KEYS.demo.origin } });
    expect(await demo.json()).toEqual({ appearance: null });
    await expectError(
      await gw.fetch('/v1/appearance', { headers: { ...pk('acme'), origin: KEYS.demo.origin } }),
      403,
      'origin_not_allowed',
    );
  });

  test('responses allow exactly the authenticated tenant\u2019s origin', async () => {
    const ok = await gw.fetch('/v1/manifest', { headers: { ...pk('acme'), origin: KEYS.acme.origin } });
    expect(ok.headers.get('access-control-allow-origin')).toBe(KEYS.acme.origin);
    expect(ok.headers.get('vary')).toContain('Origin');
    const other = await gw.fetch('/v1/manifest', { headers: { ...pk('acme'), origin: KEYS.demo.origin } });
    await expectError(other, 403, 'origin_not_allowed');
    // Only the refusal is readable there; a success never is.
    expect(other.headers.get('access-control-allow-origin')).toBe(KEYS.demo.origin);
    const openapi = await gw.fetch('/v1/openapi.json', { headers: { origin: 'https://docs.example' } });
    expect(openapi.headers.get('access-control-allow-origin')).toBe('*');
  });
});
