/** Shared helpers of the browser suites: the test gateway's manifest, the oracle, answers. */
import { parseManifest, type Manifest } from '../../../model/manifest.ts';
import type { CreditFeatures } from '../../../model/features.ts';

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
