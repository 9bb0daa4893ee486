/**
 * Tenants: the `TENANTS` binding (schema in `protocol/tenants.ts`), validated with zod at first
 * use, and the lookups the middleware makes in it (publishable key → tenant, party key → tenant
 * and party).
 */
import { TenantsConfig, type Tenant } from '../../../protocol/tenants.ts';
import { parseBinding } from './parse.ts';
import type { Party } from '../../../protocol/ciphertexts.ts';
import { sha256Hex } from '../../../protocol/bytes.ts';

const directories = new WeakMap<Tenant[], TenantDirectory>();

/** Lookups built once per isolate from the validated config. */
export interface TenantDirectory {
  byId: ReadonlyMap<string, Tenant>;
  byPublishableKey: ReadonlyMap<string, Tenant>;
  /** Keyed by the SHA-256 of the secret key, so the secret itself is never held. */
  byPartyKeyHash: ReadonlyMap<string, { tenant: Tenant; party: Exclude<Party, 'applicant'> }>;
  /** Every tenant's origins: what a CORS preflight (which carries no credential) may be allowed. */
  anyOrigin: ReadonlySet<string>;
}

/**
 * Parses the `TENANTS` binding (JSON string or object) once per isolate and builds the lookups.
 * A missing or invalid configuration answers 500 `internal` (logged without values).
 */
export function tenantDirectory(source: string | object | undefined): TenantDirectory {
  const tenants = parseBinding('TENANTS', TenantsConfig, source);
  const hit = directories.get(tenants);
  if (hit) return hit;
  const byId = new Map<string, Tenant>();
  const byPublishableKey = new Map<string, Tenant>();
  const byPartyKeyHash = new Map<string, { tenant: Tenant; party: 'bank' | 'bureau' }>();
  const anyOrigin = new Set<string>();
  for (const tenant of tenants) {
    byId.set(tenant.id, tenant);
    for (const key of tenant.publishableKeys) byPublishableKey.set(key, tenant);
    for (const hash of tenant.partyKeyHashes.bank) byPartyKeyHash.set(hash, { tenant, party: 'bank' });
    for (const hash of tenant.partyKeyHashes.bureau) byPartyKeyHash.set(hash, { tenant, party: 'bureau' });
    for (const origin of tenant.allowedOrigins) anyOrigin.add(origin);
  }
  const directory = { byId, byPublishableKey, byPartyKeyHash, anyOrigin };
  directories.set(tenants, directory);
  return directory;
}

/** Resolves a presented secret party key; `undefined` when no tenant has it. */
export async function resolvePartyKey(
  directory: TenantDirectory,
  presented: string,
): Promise<{ tenant: Tenant; party: 'bank' | 'bureau' } | undefined> {
  // Look up by hash: the map is keyed by a digest of a high-entropy secret, so lookup timing
  // says nothing useful about the secret.
  return directory.byPartyKeyHash.get(await sha256Hex(presented));
}
