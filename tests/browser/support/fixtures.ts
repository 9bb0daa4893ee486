/** Shared helpers of the browser suites: the test gateway's manifest, the oracle, answers. */
import { parseManifest, type Manifest } from '../../../model/manifest.ts';
import type { CreditFeatures } from '../../../model/features.ts';
import { KEY_CACHE_VERSION, writeCachedKeys } from '../../../widget/src/crypto/key-cache.ts';

/** The test gateway (tests/browser/server/test-gateway.ts; its publishable keys pick scenarios). */
export const GATEWAY_URL = `${location.origin}/gw`;

let manifest: Promise<Manifest> | undefined;

/** The test gateway's manifest, parsed as the widget parses it. */
export function loadManifest(): Promise<Manifest> {
  manifest ??= fetch(`${GATEWAY_URL}/v1/manifest`, { headers: { 'x-blindscore-key': 'pk_test_demo' } })
    .then((r) => r.json())
    .then(parseManifest);
  return manifest;
}

/** Calls the node-tfhe oracle: JSON bodies as JSON, bytes as octets. */
export async function oracle<T>(path: string, body: unknown): Promise<T> {
  const bytes = body instanceof Uint8Array;
  const response = await fetch(`/oracle/${path}`, {
    method: 'POST',
    headers: { 'content-type': bytes ? 'application/octet-stream' : 'application/json' },
    body: bytes ? (body as Uint8Array<ArrayBuffer>) : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`oracle ${path}: HTTP ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/** Bytes the oracle serves for its tuniform test keys. */
export async function oracleBytes(
  name: 'high-level-key' | 'public-key' | 'client-key' | 'server-key' | 'shortint-template',
): Promise<Uint8Array> {
  const response = await fetch(`/oracle/tuniform/${name}`);
  if (!response.ok) throw new Error(`oracle ${name}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

/**
 * Stores the reference client's tuniform keys (node-tfhe, via the oracle) under `name` in the
 * worker's key cache, as the worker writes its own: the high-level client key, its compact
 * public key and the compressed server key of the shortint key cut out of it.
 */
export async function cacheReferenceKeys(name: string): Promise<void> {
  const [highLevelKey, publicKey, serverKey] = await Promise.all([
    oracleBytes('high-level-key'),
    oracleBytes('public-key'),
    oracleBytes('server-key'),
  ]);
  await writeCachedKeys(name, {
    version: KEY_CACHE_VERSION,
    paramSet: 'tuniform',
    highLevelKey,
    publicKey,
    serverKey,
    createdAt: Date.now(),
  });
}

/** Complete answers per party, valid for the feature schema. */
export const TEST_ANSWERS = {
  applicant: {
    own_car: false,
    own_property: true,
    mobile_phone: true,
    num_children: 0,
    household_size: 2,
    total_income: 30_000,
    age: 40,
    income_type: 'Salaried',
    education_type: 'Secondary',
    family_status: 'Married',
    occupation_type: 'Engineer',
    housing_type: 'Rented apartment',
  },
  bank: { account_age: 36 },
  bureau: { years_employed: '2-5', employed: true },
} satisfies Record<string, Partial<CreditFeatures>>;
