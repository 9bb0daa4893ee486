/**
 * Pure pieces of the gateway, checked in Node: tenant configuration validation and how
 * evaluator errors are classified (retriable or final, and with which public code).
 */
import { describe, expect, test, vi } from 'vitest';
import { ApiError } from '../../protocol/errors.ts';
import { PublicErrorCode } from '../../protocol/public-api.ts';
import { TenantsConfig, tenantDirectory } from '../../gateway/src/config/tenants.ts';
import { classifyEvaluatorError } from '../../gateway/src/evaluator/client.ts';
import { testTenants } from './support/tenants.ts';

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
  ])('refuses %s', (_what, overrides) => {
    expect(TenantsConfig.safeParse(testTenants(overrides)).success).toBe(false);
  });

  test('a missing or broken TENANTS binding is a 500 whose log names fields, not values', () => {
    const log = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    for (const source of [undefined, '{not json', JSON.stringify([])]) {
      expect(() => tenantDirectory(source)).toThrow(ApiError);
    }
    const secret = 'pk_secret_value_0123456789';
    expect(() => tenantDirectory(JSON.stringify(testTenants({ acme: { publishableKeys: [secret], allowedOrigins: ['nope'] } })))).toThrow(ApiError);
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
