/**
 * Host overrides of the manifest's form texts, merged per entry: a host may rename one field's
 * label or one option without restating the rest.
 */
import type { FeatureName } from '../../../model/features.ts';
import type { FeatureDescriptor, FeatureTexts, FieldText } from '../../../model/manifest.ts';

export interface LabelOverrides {
  parties?: Partial<FeatureTexts['parties']>;
  fields?: Partial<Record<FeatureName, Partial<FieldText>>>;
  options?: { [K in keyof FeatureTexts['options']]?: Partial<FeatureTexts['options'][K]> };
  yes?: string;
  no?: string;
}

export function mergeLabels(base: FeatureTexts, o: LabelOverrides | undefined): FeatureTexts {
  if (!o) return base;
  const fields = { ...base.fields };
  for (const [name, text] of Object.entries(o.fields ?? {}) as [FeatureName, Partial<FieldText>][]) {
    fields[name] = { ...fields[name], ...text };
  }
  const options = { ...base.options } as Record<string, Record<string, string>>;
  for (const [name, texts] of Object.entries(o.options ?? {})) options[name] = { ...options[name], ...texts };
  return {
    ...base,
    parties: { ...base.parties, ...o.parties },
    fields,
    options: options as unknown as FeatureTexts['options'],
    yes: o.yes ?? base.yes,
    no: o.no ?? base.no,
  };
}

/** Features that are amounts of money whether or not the manifest names their currency. */
const MONEY_FEATURES: readonly FeatureName[] = ['total_income'];

/**
 * The ISO 4217 currency of each money field: the host's `currency` attribute (its override)
 * first, else the currency the manifest gives the feature (the bank's schema), else none.
 * Money fields are the manifest's features with a currency, and {@link MONEY_FEATURES}.
 */
export function fieldCurrencies(
  features: readonly FeatureDescriptor[],
  override: string | undefined,
): Partial<Record<FeatureName, string>> {
  const currencies: Partial<Record<FeatureName, string>> = {};
  for (const f of features) {
    const own = f.kind === 'integer' || f.kind === 'number' ? f.currency : undefined;
    if (own === undefined && !MONEY_FEATURES.includes(f.name)) continue;
    const code = override || own;
    if (code) currencies[f.name] = code;
  }
  return currencies;
}

/** The currency's symbol as `locale` writes it (`£`, `€`, `$`), or `null` for a code Intl does not know. */
export function currencySymbol(currency: string, locale: string): string | null {
  try {
    const parts = new Intl.NumberFormat(locale, { style: 'currency', currency, currencyDisplay: 'narrowSymbol' }).formatToParts(0);
    return parts.find((p) => p.type === 'currency')?.value ?? null;
  } catch {
    return null;
  }
}

/** Money fields' labels with the currency they are in, as `locale` writes it: "Yearly income (£)". */
export function withCurrency(texts: FeatureTexts, currencies: Partial<Record<FeatureName, string>>, locale: string): FeatureTexts {
  const fields = { ...texts.fields };
  for (const [name, code] of Object.entries(currencies) as [FeatureName, string][]) {
    const symbol = currencySymbol(code, locale);
    if (symbol) fields[name] = { ...fields[name], label: `${fields[name].label} (${symbol})` };
  }
  return { ...texts, fields };
}
