/**
 * The session state machine in real workerd: runs refused before their inputs, TTL expiry by
 * the Durable Object's alarm (every blob gone), deletion, tenant TTL caps, rate limits per IP
 * and per tenant, request ids, 404/405.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Manifest } from '../../model/manifest.ts';
import { EventSourceParserStream } from 'eventsource-parser/stream';
import { PROGRESS_ERROR_EVENT, PROGRESS_EVENT, PublicHeaders, SessionProgress, SessionStatus } from '../../protocol/public-api.ts';
import { loadPublicKeyTestKeys, loadTestKeys } from '../support/tfhe-keys.ts';
import { bearer, createSession, expectError, getManifest, partyKey, putJson, putOctets } from './support/client.ts';
import { startGateway, type TestGateway } from './support/gateway.ts';
import { encryptCompactInputs, encryptPartyInputs } from './support/inputs.ts';
import { KEYS, testTenants } from './support/tenants.ts';

let gw: TestGateway;
let manifest: Manifest;
// The gateway checks a server key's frame before storing it: these tests store the real one.
const { clientKey, compressedServerKeyBytes: serverKey } = loadTestKeys('tuniform');
const publicKey = loadPublicKeyTestKeys('tuniform').compactPublicKeyBytes;

beforeAll(async () => {
  gw = await startGateway({ tenants: testTenants({ globex: { sessionTtlSeconds: { default: 60, max: 120 } } }) });
  manifest = await getManifest(gw);
});
afterAll(() => gw?.dispose());

const status = async (path: string, token: string) => SessionStatus.parse(await (await gw.fetch(path, { headers: bearer(token) })).json());

describe('state machine', () => {
  test('run is refused until the server key and every party\u2019s inputs are stored', async () => {
    const s = await createSession(gw, 'demo');
    const run = () => gw.fetch(`/v1/sessions/${s.sessionId}/run`, { method: 'POST', headers: bearer(s.token) });
    await expectError(await run(), 409, 'missing_server_key');
    expect((await putOctets(gw, `/v1/sessions/${s.sessionId}/server-key`, bearer(s.token), serverKey)).status).toBe(201);
    expect((await status(`/v1/sessions/${s.sessionId}`, s.token)).state).toBe('keys');
    const missing = await expectError(await run(), 409, 'missing_inputs');
    expect(missing.details).toEqual({ missingParties: ['applicant', 'bank', 'bureau'] });
    await putJson(gw, `/v1/sessions/${s.sessionId}/inputs/bank`, bearer(s.token), encryptPartyInputs(manifest, 'bank', clientKey));
    expect((await expectError(await run(), 409, 'missing_inputs')).details).toEqual({ missingParties: ['applicant', 'bureau'] });
    const result = await expectError(
      await gw.fetch(`/v1/sessions/${s.sessionId}/result`, { headers: bearer(s.token) }),
      409,
      'result_not_ready',
    );
    expect(result).toMatchObject({ retriable: true, details: { state: 'keys' } });
    expect((await status(`/v1/sessions/${s.sessionId}`, s.token)).run.state).toBe('idle');
  });

  test('a session expires at its TTL: the alarm deletes every blob, then 410', async () => {
    // Encrypted before the 5 s start: only the two uploads run against the TTL.
    const bankInputs = encryptCompactInputs(manifest, 'bank', publicKey);
    const s = await createSession(gw, 'acme', { ttlSeconds: 5 });
    const created = await status(`/v1/sessions/${s.sessionId}`, s.token);
    expect(Date.parse(created.expiresAt) - Date.parse(created.createdAt)).toBe(5000);
    expect((await putOctets(gw, `/v1/sessions/${s.sessionId}/public-key`, bearer(s.token), publicKey)).status).toBe(201);
    expect((await putJson(gw, `/v1/sessions/${s.sessionId}/inputs/bank`, partyKey(KEYS.acme.bank), bankInputs)).status).toBe(201);
    expect(await gw.blobKeys(`sessions/${s.sessionId}/`)).toHaveLength(2);
    // Wait past expiry without touching the session (storage is read through its own binding):
    // only the alarm can clean up. How soon it runs after expiry depends on the machine's load.
    const untilExpiry = Math.max(0, Date.parse(created.expiresAt) - Date.now());
    await expect.poll(() => gw.blobKeys(`sessions/${s.sessionId}/`), { timeout: untilExpiry + 30_000, interval: 500 }).toEqual([]);
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(created.expiresAt));
    await expectError(await gw.fetch(`/v1/sessions/${s.sessionId}`, { headers: bearer(s.token) }), 410, 'session_expired');
    await expectError(
      await gw.fetch(`/v1/sessions/${s.sessionId}/public-key`, { headers: partyKey(KEYS.acme.bureau) }),
      410,
      'session_expired',
    );
    // The tombstone still checks credentials.
    await expectError(await gw.fetch(`/v1/sessions/${s.sessionId}`, { headers: bearer('B'.repeat(43)) }), 401, 'invalid_token');
  });

  test('deleting removes every blob; the session then answers 410', async () => {
    const s = await createSession(gw, 'demo');
    await putOctets(gw, `/v1/sessions/${s.sessionId}/server-key`, bearer(s.token), serverKey);
    await putJson(
      gw,
      `/v1/sessions/${s.sessionId}/inputs/applicant`,
      bearer(s.token),
      encryptPartyInputs(manifest, 'applicant', clientKey),
    );
    expect(await gw.blobKeys(`sessions/${s.sessionId}/`)).toHaveLength(2);
    const deleted = await gw.fetch(`/v1/sessions/${s.sessionId}`, { method: 'DELETE', headers: bearer(s.token) });
    expect(deleted.status).toBe(204);
    expect(await gw.blobKeys(`sessions/${s.sessionId}/`)).toEqual([]);
    await expectError(await gw.fetch(`/v1/sessions/${s.sessionId}`, { headers: bearer(s.token) }), 410, 'session_deleted');
    await expectError(
      await gw.fetch(`/v1/sessions/${s.sessionId}`, { method: 'DELETE', headers: bearer(s.token) }),
      410,
      'session_deleted',
    );
    await expectError(
      await putJson(gw, `/v1/sessions/${s.sessionId}/inputs/bank`, bearer(s.token), encryptPartyInputs(manifest, 'bank', clientKey)),
      410,
      'session_deleted',
    );
  });

  test('session answers are marked no-store (clients need not ask, and keep their CORS preflight cache)', async () => {
    const manifestRes = await gw.fetch('/v1/manifest', { headers: { [PublicHeaders.publishableKey]: KEYS.demo.publishable } });
    expect(manifestRes.headers.get('cache-control')).toBe('private, max-age=300');
    const s = await createSession(gw, 'demo');
    const res = await gw.fetch(`/v1/sessions/${s.sessionId}`, { headers: bearer(s.token) });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const refused = await gw.fetch(`/v1/sessions/${s.sessionId}/run`, { method: 'POST', headers: bearer(s.token) });
    await expectError(refused, 409, 'missing_server_key');
    expect(refused.headers.get('cache-control')).toBe('no-store');
  });

  test('a progress stream follows the state and reports deletion in-band', async () => {
    const s = await createSession(gw, 'demo');
    const res = await gw.fetch(`/v1/sessions/${s.sessionId}/progress`, { headers: bearer(s.token) });
    expect(res.status).toBe(200);
    const decoder = new TextDecoderStream() as unknown as TransformStream<Uint8Array, string>;
    const reader = res.body!.pipeThrough(decoder).pipeThrough(new EventSourceParserStream()).getReader();
    const first = await reader.read();
    expect(first.value?.event).toBe(PROGRESS_EVENT);
    expect(SessionProgress.parse(JSON.parse(first.value!.data))).toMatchObject({ state: 'created', run: { state: 'idle' } });
    await putOctets(gw, `/v1/sessions/${s.sessionId}/server-key`, bearer(s.token), serverKey);
    const second = await reader.read();
    expect(SessionProgress.parse(JSON.parse(second.value!.data)).state).toBe('keys');
    expect((await gw.fetch(`/v1/sessions/${s.sessionId}`, { method: 'DELETE', headers: bearer(s.token) })).status).toBe(204);
    const last = await reader.read();
    expect(last.value?.event).toBe(PROGRESS_ERROR_EVENT);
    expect(JSON.parse(last.value!.data)).toMatchObject({ code: 'session_deleted' });
    expect((await reader.read()).done).toBe(true);
  });

  test('the tenant caps the requested TTL and sets the default', async () => {
    const capped = await createSession(gw, 'globex', { ttlSeconds: 3600 });
    const a = await status(`/v1/sessions/${capped.sessionId}`, capped.token);
    expect(Date.parse(a.expiresAt) - Date.parse(a.createdAt)).toBe(120_000);
    const byDefault = await createSession(gw, 'globex');
    const b = await status(`/v1/sessions/${byDefault.sessionId}`, byDefault.token);
    expect(Date.parse(b.expiresAt) - Date.parse(b.createdAt)).toBe(60_000);
    await expectError(
      await gw.fetch('/v1/sessions', {
        method: 'POST',
        headers: {
          [PublicHeaders.publishableKey]: KEYS.globex.publishable,
          origin: KEYS.globex.origin,
          'content-type': 'application/json',
        },
        body: JSON.stringify({ modelVersion: manifest.modelVersion, ttlSeconds: 1 }),
      }),
      400,
      'invalid_request',
    );
  });
});

describe('request plumbing', () => {
  test('request ids are echoed when valid and generated otherwise', async () => {
    const echoed = await gw.fetch('/v1/openapi.json', { headers: { [PublicHeaders.requestId]: 'trace-42' } });
    expect(echoed.headers.get(PublicHeaders.requestId)).toBe('trace-42');
    const replaced = await gw.fetch('/v1/manifest', { headers: { [PublicHeaders.requestId]: 'bad id; injected' } });
    const body = await expectError(replaced, 401, 'missing_credentials');
    expect(body.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  test('unknown routes are 404, known routes with another method 405', async () => {
    await expectError(await gw.fetch('/v1/nothing'), 404, 'not_found');
    await expectError(await gw.fetch('/v1/sessions'), 405, 'method_not_allowed');
    await expectError(await gw.fetch('/v1/manifest', { method: 'DELETE' }), 405, 'method_not_allowed');
  });
});

describe('rate limits', () => {
  let limited: TestGateway;
  beforeAll(async () => {
    limited = await startGateway({
      ipRateLimits: { sessionsPerMinute: 2, requestsPerMinute: 20 },
      tenants: testTenants({ demo: { rateLimits: { sessionsPerMinute: 3 } } }),
    });
  });
  afterAll(() => limited?.dispose());

  const create = (tenant: keyof typeof KEYS, ip: string) =>
    limited.fetch('/v1/sessions', {
      method: 'POST',
      headers: {
        [PublicHeaders.publishableKey]: KEYS[tenant].publishable,
        origin: KEYS[tenant].origin,
        'content-type': 'application/json',
        'cf-connecting-ip': ip,
      },
      body: JSON.stringify({ modelVersion: manifest.modelVersion }),
    });

  test('sessions per IP', async () => {
    expect((await create('acme', '192.0.2.1')).status).toBe(201);
    expect((await create('acme', '192.0.2.1')).status).toBe(201);
    const refused = await create('acme', '192.0.2.1');
    const body = await expectError(refused, 429, 'rate_limited');
    expect(body.retriable).toBe(true);
    expect(Number(refused.headers.get(PublicHeaders.retryAfter))).toBeGreaterThanOrEqual(1);
    expect((await create('acme', '192.0.2.2')).status).toBe(201);
  });

  test('sessions per tenant, across IPs', async () => {
    for (const ip of ['198.51.100.1', '198.51.100.2', '198.51.100.3']) expect((await create('demo', ip)).status).toBe(201);
    await expectError(await create('demo', '198.51.100.4'), 429, 'rate_limited');
    expect((await create('globex', '198.51.100.4')).status).toBe(201);
  });

  test('requests per IP', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 22; i++)
      statuses.push((await limited.fetch('/v1/openapi.json', { headers: { 'cf-connecting-ip': '203.0.113.9' } })).status);
    expect(statuses.slice(0, 20).every((s) => s === 200)).toBe(true);
    expect(statuses.slice(20)).toEqual([429, 429]);
  });
});
