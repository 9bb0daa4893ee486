/** Small typed helpers over the public API, as a browser or party backend would call it. */
import { expect } from 'vitest';
import type { Manifest } from '../../../model/manifest.ts';
import { ErrorBody } from '../../../protocol/errors.ts';
import { CreateSessionResponse, PublicErrorCode, PublicHeaders, SessionStatus, type SessionState } from '../../../protocol/public-api.ts';
import type { TestGateway } from './gateway.ts';
import { KEYS, type TenantName } from './tenants.ts';

export interface Session {
  sessionId: string;
  token: string;
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
export const partyKey = (key: string) => ({ [PublicHeaders.partyKey]: key });

export async function getManifest(gw: TestGateway, tenant: TenantName = 'acme'): Promise<Manifest> {
  const res = await gw.fetch('/v1/manifest', { headers: { [PublicHeaders.publishableKey]: KEYS[tenant].publishable } });
  expect(res.status).toBe(200);
  return (await res.json()) as Manifest;
}

export async function createSession(gw: TestGateway, tenant: TenantName = 'acme', body: Record<string, unknown> = {}): Promise<Session> {
  const manifest = await getManifest(gw, tenant);
  const res = await gw.fetch('/v1/sessions', {
    method: 'POST',
    headers: { [PublicHeaders.publishableKey]: KEYS[tenant].publishable, origin: KEYS[tenant].origin, 'content-type': 'application/json' },
    body: JSON.stringify({ modelVersion: manifest.modelVersion, ...body }),
  });
  expect(res.status).toBe(201);
  return CreateSessionResponse.parse(await res.json());
}

/** The session's status, as its token sees it. */
export async function sessionStatus(gw: TestGateway, s: Session): Promise<SessionStatus> {
  return SessionStatus.parse(await (await gw.fetch(`/v1/sessions/${s.sessionId}`, { headers: bearer(s.token) })).json());
}

/** Polls the status until its state is none of `passing` (a run's `running`), and returns it. */
export async function statusPast(gw: TestGateway, s: Session, passing: readonly SessionState[], timeout: number): Promise<SessionStatus> {
  let status: SessionStatus | undefined;
  await expect
    .poll(async () => !passing.includes((status = await sessionStatus(gw, s)).state), {
      timeout,
      interval: 250,
      message: `state past ${passing}`,
    })
    .toBe(true);
  return status!;
}

/** Asserts an error response: status, code (documented with that status) and request id. */
export async function expectError(res: Response, status: number, code: keyof typeof PublicErrorCode): Promise<ErrorBody> {
  const body = ErrorBody.parse(await res.json());
  expect({ status: res.status, code: body.code }).toEqual({ status, code });
  expect(PublicErrorCode[code]).toBe(status);
  expect(body.requestId).toBe(res.headers.get(PublicHeaders.requestId));
  return body;
}

export function putJson(gw: TestGateway, path: string, headers: Record<string, string>, body: unknown): Promise<Response> {
  return gw.fetch(path, { method: 'PUT', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

export function putOctets(gw: TestGateway, path: string, headers: Record<string, string>, body: Uint8Array): Promise<Response> {
  // Test key bytes come from files (ArrayBufferLike); fetch sends any Uint8Array.
  return gw.fetch(path, {
    method: 'PUT',
    headers: { ...headers, 'content-type': 'application/octet-stream' },
    body: body as Uint8Array<ArrayBuffer>,
  });
}
