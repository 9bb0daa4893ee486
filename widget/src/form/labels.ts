/**
 * Host overrides of the manifest's form texts, merged per entry: a host may rename one field's
 * label or one option without restating the rest.
 */
import type { FeatureName, FeatureTexts, FieldText } from '../../../model/features.ts';

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
