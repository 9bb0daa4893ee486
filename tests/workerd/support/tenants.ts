/**
 * Test tenants: published here on purpose (test-only keys). `acme` is a production-style tenant
 * (party keys upload bank and bureau inputs), `demo` lets the session token upload every party,
 * `globex` exists to prove that one tenant's keys never open another's sessions.
 */
import { createHash } from 'node:crypto';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

export const KEYS = {
  acme: {
    publishable: 'pk_test_acme_0123456789abcdef',
    origin: 'https://bank.acme.example',
    bank: 'sk_test_acme_bank_0123456789abcdef0123456789',
    bureau: 'sk_test_acme_bureau_0123456789abcdef01234567',
  },
  demo: {
    publishable: 'pk_test_demo_0123456789abcdef',
    origin: 'https://demo.example',
    bank: 'sk_test_demo_bank_0123456789abcdef0123456789',
    bureau: 'sk_test_demo_bureau_0123456789abcdef01234567',
  },
  globex: {
    publishable: 'pk_test_globex_0123456789abcdef',
    origin: 'https://globex.example',
    bank: 'sk_test_globex_bank_0123456789abcdef01234567',
    bureau: 'sk_test_globex_bureau_0123456789abcdef012345',
  },
} as const;
export type TenantName = keyof typeof KEYS;

/** The `TENANTS` binding for the test gateways. */
export function testTenants(overrides: Partial<Record<TenantName, Record<string, unknown>>> = {}): unknown[] {
  return (Object.keys(KEYS) as TenantName[]).map((id) => ({
    id,
    publishableKeys: [KEYS[id].publishable],
    allowedOrigins: [KEYS[id].origin],
    partyKeyHashes: { bank: [sha256(KEYS[id].bank)], bureau: [sha256(KEYS[id].bureau)] },
    demo: id === 'demo',
    ...overrides[id],
  }));
}
