/**
 * Caps on sessions holding a server key at once, per tenant and per client IP, in real workerd:
 * the refused upload is not read or stored, the answer is 429 `too_many_active_sessions` with
 * `retry-after`, and a session gives its slot back when deleted, when it expires (the alarm) and
 * when its last allowed run ends (the real evaluator refusing a key for good, or running the real
 * one). A slot is taken by a single-request key upload or by announcing a resumable one.
 */
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import type { Manifest } from '../../model/manifest.ts';
import { ErrorBody, PublicHeaders, SessionStatus } from '../../protocol/public-api.ts';
import { createHash } from 'node:crypto';
import { patched } from '../support/bytes.ts';
import { loadTestKeys } from '../support/tfhe-keys.ts';
import { bearer, createSession, getManifest, putJson, putOctets, type Session, sessionStatus, statusPast } from './support/client.ts';
import { freePort, startEvaluatorProcess, type EvaluatorProcess } from './support/evaluator.ts';
import { startGateway, type TestGateway } from './support/gateway.ts';
import { encryptPartyInputs } from './support/inputs.ts';
import { testTenants } from './support/tenants.ts';

let gw: TestGateway;
let evaluator: EvaluatorProcess;
let manifest: Manifest;
const { clientKey, compressedServerKeyBytes } = loadTestKeys('tuniform');
// Well-formed to the gateway's frame check; the engine refuses it (max noise level 0) when the run expands it.
const refusedKey = patched(compressedServerKeyBytes, compressedServerKeyBytes.length - 8, 0n);
const keySha256 = createHash('sha256').update(compressedServerKeyBytes).digest('hex');

beforeAll(async () => {
  const port = await freePort();
  [evaluator, gw] = await Promise.all([
    startEvaluatorProcess(port),
    startGateway({
      evaluatorUrl: `http://127.0.0.1:${port}`,
      tenants: testTenants({
        acme: { activeSessions: { perTenant: 3, perIp: 2 } },
        globex: { activeSessions: { perTenant: 1, perIp: 1 } },
        // One run per session: its end is the session's last use of the evaluator.
        demo: { activeSessions: { perTenant: 1, perIp: 1 }, maxRunsPerSession: 1 },
      }),
    }),
  ]);
  manifest = await getManifest(gw);
});
afterAll(async () => {
  await gw?.dispose();
  await evaluator?.stop();
});

const from = (ip: string, s: Session) => ({ ...bearer(s.token), 'cf-connecting-ip': ip });
/** Takes a session's slots without sending a byte: announcing a resumable key upload. */
const putKey = (ip: string, s: Session) =>
  gw.fetch(`/v1/sessions/${s.sessionId}/server-key/uploads`, {
    method: 'POST',
    headers: { ...from(ip, s), 'content-type': 'application/json' },
    body: JSON.stringify({ size: compressedServerKeyBytes.length, sha256: keySha256 }),
  });

async function expectRefused(res: Response, s: Session): Promise<number> {
  const body = ErrorBody.parse(await res.json());
  expect({ status: res.status, code: body.code, retriable: body.retriable }).toEqual({
    status: 429,
    code: 'too_many_active_sessions',
    retriable: true,
  });
  const retryAfter = Number(res.headers.get(PublicHeaders.retryAfter));
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  // Refused unread: nothing stored, the session still has no key.
  expect(await gw.blobKeys(`sessions/${s.sessionId}/`)).toEqual([]);
  const status = await sessionStatus(gw, s);
  expect(status).toMatchObject({ state: 'created', serverKey: { received: false } });
  return retryAfter;
}

describe('active sessions', () => {
  test('per IP and per tenant; a deleted session frees its slots; other tenants are unaffected', async () => {
    const [a1, a2, a3, b1, c1] = await Promise.all([1, 2, 3, 4, 5].map(() => createSession(gw, 'acme')));
    expect((await putKey('192.0.2.1', a1!)).status).toBe(201);
    expect((await putKey('192.0.2.1', a2!)).status).toBe(201);
    // A session holding its slot may repeat its upload.
    expect((await putKey('192.0.2.1', a1!)).status).toBe(200);
    await expectRefused(await putKey('192.0.2.1', a3!), a3!);
    expect((await putKey('192.0.2.2', b1!)).status).toBe(201);
    // Three sessions of the tenant hold keys: a fresh IP is refused too.
    await expectRefused(await putKey('192.0.2.3', c1!), c1!);
    const globex = await createSession(gw, 'globex');
    expect((await putKey('192.0.2.1', globex)).status).toBe(201);

    expect((await gw.fetch(`/v1/sessions/${a1!.sessionId}`, { method: 'DELETE', headers: bearer(a1!.token) })).status).toBe(204);
    expect((await putKey('192.0.2.1', a3!)).status).toBe(201);
    await expectRefused(await putKey('192.0.2.3', c1!), c1!);
  });

  test('an expired session frees its slot; the refusal says when that happens at the latest', async () => {
    const short = await createSession(gw, 'demo', { ttlSeconds: 5 });
    expect((await putKey('198.51.100.1', short)).status).toBe(201);
    const waiting = await createSession(gw, 'demo');
    const retryAfter = await expectRefused(await putKey('198.51.100.2', waiting), waiting);
    expect(retryAfter).toBeLessThanOrEqual(5);
    const { expiresAt } = SessionStatus.parse(
      await (await gw.fetch(`/v1/sessions/${short.sessionId}`, { headers: bearer(short.token) })).json(),
    );
    // The expired session is never touched: only its alarm can end it and free the slot. Each
    // refused attempt is answered unread, so the waiting session polls for the slot.
    await expect
      .poll(async () => (await putKey('198.51.100.2', waiting)).status, {
        timeout: Math.max(0, Date.parse(expiresAt) - Date.now()) + 30_000,
        interval: 500,
      })
      .toBe(201);
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(expiresAt));
    const gone = await gw.fetch(`/v1/sessions/${short.sessionId}`, { headers: bearer(short.token) });
    expect({ status: gone.status, code: ErrorBody.parse(await gone.json()).code }).toEqual({ status: 410, code: 'session_expired' });
    expect(await gw.blobKeys(`sessions/${short.sessionId}/`)).toEqual([]);
    expect((await gw.fetch(`/v1/sessions/${waiting.sessionId}`, { method: 'DELETE', headers: bearer(waiting.token) })).status).toBe(204);
  });

  test('a run that ends for good frees the slot', async () => {
    const s = await createSession(gw, 'demo');
    const next = await createSession(gw, 'demo');
    expect((await putOctets(gw, `/v1/sessions/${s.sessionId}/server-key`, from('203.0.113.1', s), refusedKey)).status).toBe(201);
    await expectRefused(await putKey('203.0.113.2', next), next);
    for (const party of ['applicant', 'bank', 'bureau'] as const) {
      expect(
        (await putJson(gw, `/v1/sessions/${s.sessionId}/inputs/${party}`, bearer(s.token), encryptPartyInputs(manifest, party, clientKey)))
          .status,
      ).toBe(201);
    }
    const run = await gw.fetch(`/v1/sessions/${s.sessionId}/run`, { method: 'POST', headers: bearer(s.token) });
    await run.arrayBuffer();
    // The engine refuses the key when the run expands it: polled, not timed.
    const error = await vi.waitFor(
      async (): Promise<ErrorBody> => {
        const status = await sessionStatus(gw, s);
        expect(status.state).not.toBe('done');
        if (!status.run.error) throw new Error('the run has not failed yet');
        return status.run.error;
      },
      { timeout: 90_000, interval: 250 },
    );
    expect(error).toMatchObject({ code: 'invalid_server_key', retriable: false });
    expect((await putKey('203.0.113.2', next)).status).toBe(201);
    expect((await gw.fetch(`/v1/sessions/${next.sessionId}`, { method: 'DELETE', headers: bearer(next.token) })).status).toBe(204);
  });

  test('a run that succeeds frees the slot', async () => {
    const s = await createSession(gw, 'demo');
    const next = await createSession(gw, 'demo');
    expect((await putOctets(gw, `/v1/sessions/${s.sessionId}/server-key`, from('203.0.113.1', s), compressedServerKeyBytes)).status).toBe(
      201,
    );
    await expectRefused(await putKey('203.0.113.2', next), next);
    for (const party of ['applicant', 'bank', 'bureau'] as const) {
      expect(
        (await putJson(gw, `/v1/sessions/${s.sessionId}/inputs/${party}`, bearer(s.token), encryptPartyInputs(manifest, party, clientKey)))
          .status,
      ).toBe(201);
    }
    const run = await gw.fetch(`/v1/sessions/${s.sessionId}/run`, { method: 'POST', headers: bearer(s.token) });
    expect([200, 202]).toContain(run.status);
    await run.arrayBuffer();
    // Polled, not timed: the run takes as long as the machine needs.
    expect((await statusPast(gw, s, ['running'], 540_000)).state).toBe('done');
    expect((await putKey('203.0.113.2', next)).status).toBe(201);
  }, 600_000);
});
