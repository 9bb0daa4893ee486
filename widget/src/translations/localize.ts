/**
 * Locale state through `@lit/localize` (runtime mode): English is the source locale, French the
 * bundled target. Locale state is per page, shared by every `<blind-score>` of this bundle.
 */
import { configureLocalization, msg } from '@lit/localize';
import { LOCALES, type Locale } from '../../../model/manifest.ts';
import { en, type MessageId, type Translation } from './en.ts';
import { fr } from './fr.ts';

export { LOCALES, type Locale };

const TRANSLATIONS: Readonly<Record<Locale, Translation>> = { en, fr };

export const { getLocale, setLocale } = configureLocalization({
  sourceLocale: 'en',
  targetLocales: ['fr'],
  // Bundled, not fetched: the French strings are a few hundred bytes.
  loadLocale: async (locale) => ({ templates: TRANSLATIONS[locale as Locale] }),
});

/** The closest supported locale to a BCP 47 tag (`fr-CA` → `fr`), else English. */
export function resolveLocale(tag: string | null | undefined): Locale {
  const base = (tag ?? '').toLowerCase().split('-')[0];
  return (LOCALES as readonly string[]).includes(base ?? '') ? (base as Locale) : 'en';
}

/** The active locale as one of ours. */
export const currentLocale = (): Locale => resolveLocale(getLocale());

/**
 * One string: the host's override when given, else the active locale's, with `{name}`
 * placeholders filled from `values`.
 */
export function translate(id: MessageId, overrides: Partial<Translation> | undefined, values?: Record<string, string | number>): string {
  const text = overrides?.[id] ?? msg(en[id], { id });
  if (!values) return text;
  // Numbers as the locale writes them: 10,000,000 in English, 10 000 000 in French.
  const numbers = new Intl.NumberFormat(currentLocale());
  const shown = (v: string | number) => (typeof v === 'number' ? numbers.format(v) : v);
  return text.replace(/\{(\w+)\}/g, (m, name: string) => (name in values ? shown(values[name]!) : m));
}
