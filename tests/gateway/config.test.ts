/**
 * Pure pieces of the gateway, checked inside workerd: tenant configuration validation and how
 * evaluator errors are classified (retriable or final, and with which public code), including
 * the wait the client reads from a real HTTP server's error answers.
 */
import { beforeAll, describe, expect, inject, test, vi } from 'vitest';
import { ApiError } from '../../protocol/errors.ts';
import { PublicErrorCode } from '../../protocol/public-api.ts';
import { tenantDirectory } from '../../gateway/src/config/tenants.ts';
import { TenantsConfig } from '../../protocol/tenants.ts';
import { EvaluatorClient } from '../../gateway/src/evaluator/client.ts';
import { classifyEvaluatorError, EvaluatorFailure } from '../../gateway/src/evaluator/failures.ts';
import type { Bindings } from '../../gateway/src/env.ts';
import type { ErrorBody } from '../../protocol/errors.ts';
import { SCRIPTED_SERVER_SECRET, type ScriptedAnswer } from './support/provided.ts';

type TenantName = 'acme' | 'demo' | 'globex';

/** The test tenants with some fields replaced, as tests/workerd/support/tenants.ts builds them. */
function testTenants(overrides: Partial<Record<TenantName, Record<string, unknown>>> = {}): unknown[] {
  return (inject('testTenants') as Array<{ id: TenantName }>).map((t) => ({ ...t, ...overrides[t.id] }));
}

describe('tenant configuration', () => {
  test('the test tenants parse, with defaults filled in', () => {
    const [acme] = TenantsConfig.parse(testTenants());
    expect(acme).toMatchObject({
      id: 'acme',
      demo: false,
      sessionTtlSeconds: { default: 1800, max: 1800 },
      rateLimits: { sessionsPerMinute: 120, partyRequestsPerMinute: 600 },
    });
  });

  test.each([
    ['an origin with a path', { acme: { allowedOrigins: ['https://bank.acme.example/'] } }],
    ['an origin with a wildcard', { acme: { allowedOrigins: ['https://*.acme.example'] } }],
    ['a party key stored in clear', { acme: { partyKeyHashes: { bank: ['sk_test_acme_bank_0123456789abcdef0123456789'] } } }],
    ['a short publishable key', { acme: { publishableKeys: ['pk_short'] } }],
    ['a default TTL above the maximum', { acme: { sessionTtlSeconds: { default: 600, max: 60 } } }],
    ['a publishable key shared by two tenants', { globex: { publishableKeys: ['pk_test_acme_0123456789abcdef'] } }],
    ['an unknown field', { acme: { admin: true } }],
    ['an appearance whose value would open a CSS rule', { acme: { appearance: { variables: { accent: 'red; } * { display: none' } } } }],
    ['an appearance with an unknown theme', { acme: { appearance: { theme: 'neon' } } }],
  ])('refuses %s', (_what, overrides) => {
    expect(TenantsConfig.safeParse(testTenants(overrides)).success).toBe(false);
  });

  test('a tenant may carry its brand for the widget', () => {
    const appearance = { theme: 'flat', variables: { accent: '#0a5028' }, rules: { submit: { 'text-transform': 'uppercase' } } };
    const [acme] = TenantsConfig.parse(testTenants({ acme: { appearance } }));
    expect(acme?.appearance).toEqual(appearance);
  });

  test('a missing or broken TENANTS binding is a 500 whose log names fields, not values', () => {
    const log = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    for (const source of [undefined, '{not json', JSON.stringify([])]) {
      expect(() => tenantDirectory(source)).toThrow(ApiError);
    }
    const secret = 'pk_secret_value_0123456789';
    expect(() => tenantDirectory(JSON.stringify(testTenants({ acme: { publishableKeys: [secret], allowedOrigins: ['nope'] } })))).toThrow(
      ApiError,
    );
    expect(JSON.stringify(log.mock.calls)).not.toContain(secret);
    log.mockRestore();
  });

  test('lookups: publishable keys, party key hashes, the union of origins', () => {
    const directory = tenantDirectory(JSON.stringify(testTenants()));
    expect(directory.byPublishableKey.get('pk_test_demo_0123456789abcdef')?.id).toBe('demo');
    expect(directory.anyOrigin).toEqual(new Set(['https://bank.acme.example', 'https://demo.example', 'https://globex.example']));
    expect(directory.byPartyKeyHash.size).toBe(6);
  });
});

describe('evaluator errors', () => {
  test.each([
    [422, 'invalid_server_key', 422, false],
    [422, 'key_parameter_mismatch', 422, false],
    [422, 'invalid_inputs', 422, false],
    [422, 'invalid_ciphertext', 422, false],
    [409, 'model_version_mismatch', 409, false],
    [503, 'queue_full', 503, true],
    [503, 'memory_exhausted', 503, true],
    [503, 'shutting_down', 503, true],
    [500, 'run_failed', 500, true],
    [401, 'bad_signature', 502, true],
    [500, 'internal', 502, true],
  ] as const)('%i %s → %i, retriable %s', (status, code, publicStatus, retriable) => {
    const f = classifyEvaluatorError(status, { code, message: 'x' });
    expect({ status: f.status, retriable: f.retriable }).toEqual({ status: publicStatus, retriable });
    expect(PublicErrorCode[f.code as keyof typeof PublicErrorCode]).toBe(f.status);
  });

  test('an unparseable answer is a retriable evaluator_error', () => {
    expect(classifyEvaluatorError(500, undefined)).toMatchObject({ status: 502, code: 'evaluator_error', retriable: true });
  });
});

describe("the evaluator's retry-after, as the client reads it from a real HTTP server", () => {
  let client: EvaluatorClient;
  const serverUrl = inject('scriptedServerUrl');

  beforeAll(() => {
    // Only the local-development transport's bindings: the client reads nothing else.
    const env = { EVALUATOR_URL: serverUrl, EVALUATOR_SHARED_SECRET: SCRIPTED_SERVER_SECRET };
    client = new EvaluatorClient(env as Bindings, 'pin', 'session-1');
  });

  const queueFull = (retryAfterSeconds?: number): ErrorBody => ({
    code: 'queue_full',
    message: 'run queue is full',
    retriable: true,
    details: { maxQueued: 0, ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }) },
  });

  async function failureOfRun(status: number, headers: Record<string, string>, body: ErrorBody) {
    const answer: ScriptedAnswer = { status, headers, body };
    const scripted = await fetch(`${serverUrl}/__answer`, { method: 'POST', body: JSON.stringify(answer) });
    expect(scripted.status).toBe(204);
    const run = client.run();
    await expect(run).rejects.toBeInstanceOf(EvaluatorFailure);
    return ((await run.catch((e: unknown) => e)) as EvaluatorFailure).failure;
  }

  test.each([
    ['delay-seconds', { 'retry-after': '42' }, queueFull(42), 42],
    ['the header before the body', { 'retry-after': '17' }, queueFull(42), 17],
    ['above the bound: 5 min', { 'retry-after': '100000' }, queueFull(), 300],
    ['zero: at least 1 s', { 'retry-after': '0' }, queueFull(), 1],
    ['no header: the body’s details', {}, queueFull(8), 8],
    ['an unreadable header: the body’s details', { 'retry-after': 'soon' }, queueFull(9), 9],
    ['a fractional hint, rounded up', {}, queueFull(2.2), 3],
    ['neither: none (the gateway’s default applies)', {}, queueFull(), undefined],
  ] as const)('%s', async (_what, headers, body, expected) => {
    const f = await failureOfRun(503, headers, body);
    expect(f).toMatchObject({
      status: 503,
      code: 'evaluator_unavailable',
      retriable: true,
      details: { evaluatorCode: 'queue_full', evaluatorStatus: 503 },
    });
    expect(f.details?.['retryAfterSeconds']).toBe(expected);
  });

  test('an HTTP-date counts from now', async () => {
    const at = new Date(Date.now() + 60_000).toUTCString();
    const wait = (await failureOfRun(503, { 'retry-after': at }, queueFull())).details?.['retryAfterSeconds'];
    expect(wait).toBeGreaterThanOrEqual(58);
    expect(wait).toBeLessThanOrEqual(60);
  });

  test('other overload answers keep their wait; a final rejection carries none', async () => {
    const exhausted = await failureOfRun(503, { 'retry-after': '5' }, { code: 'memory_exhausted', message: 'no room', retriable: true });
    expect(exhausted).toMatchObject({
      code: 'evaluator_unavailable',
      details: { evaluatorCode: 'memory_exhausted', retryAfterSeconds: 5 },
    });
    const rejected = await failureOfRun(422, { 'retry-after': '5' }, { code: 'invalid_server_key', message: 'bad key' });
    expect(rejected).toEqual({
      status: 422,
      code: 'invalid_server_key',
      message: 'The evaluator rejected the server key.',
      retriable: false,
      details: { evaluatorCode: 'invalid_server_key', evaluatorStatus: 422 },
    });
  });
});
