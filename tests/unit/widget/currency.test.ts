/**
 * Which currency a money field names: the manifest's (the bank's schema), overridden by the
 * host's `currency` attribute; and the manifest schema's check of the code.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseManifest, type Manifest } from '../../../model/manifest.ts';
import { fieldCurrencies, withCurrency } from '../../../widget/src/form/labels.ts';

const manifestText = readFileSync(join(import.meta.dirname, '..', '..', '..', 'model', 'artifacts', 'manifest.json'), 'utf8');

/** The demo manifest with `total_income` in `currency`. */
function inCurrency(currency: unknown): unknown {
  const manifest = JSON.parse(manifestText) as { features: { name: string; currency?: unknown }[] };
  manifest.features.find((f) => f.name === 'total_income')!.currency = currency;
  return manifest;
}

describe('money fields’ currency', () => {
  it('comes from the manifest, the host’s attribute overriding it, and is absent when neither names one', () => {
    const withGbp = parseManifest(inCurrency('GBP'));
    const plain: Manifest = parseManifest(JSON.parse(manifestText));
    expect(fieldCurrencies(withGbp.features, undefined)).toEqual({ total_income: 'GBP' });
    expect(fieldCurrencies(withGbp.features, 'EUR')).toEqual({ total_income: 'EUR' });
    expect(fieldCurrencies(plain.features, 'EUR')).toEqual({ total_income: 'EUR' });
    expect(fieldCurrencies(plain.features, undefined)).toEqual({});
    const texts = plain.labels.en!;
    expect(withCurrency(texts, { total_income: 'GBP' }, 'en').fields.total_income.label).toBe('Yearly income (£)');
    expect(withCurrency(plain.labels.fr!, { total_income: 'EUR' }, 'fr').fields.total_income.label).toBe('Revenu annuel (€)');
    // What Intl cannot read as a currency code labels nothing.
    expect(withCurrency(texts, { total_income: 'pounds' }, 'en').fields.total_income.label).toBe('Yearly income');
  });

  it('is an ISO 4217 code in the manifest schema', () => {
    for (const bad of ['gbp', 'POUND', 12]) expect(() => parseManifest(inCurrency(bad))).toThrow(/total_income|features/);
  });
});
