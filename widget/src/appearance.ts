/**
 * The `appearance` property: a partner brand as one object, like the payment widgets banks already
 * embed. `theme` picks a set of defaults (`default`, which follows the system's dark mode, `night`
 * or `flat`), `variables` set the `--blind-score-*` custom properties by name, and `rules` style
 * parts (`::part` names) with CSS declarations, which win over the element's own. Checked with
 * zod (`protocol/appearance.ts`); values are set through the CSSOM
 * (`style.setProperty`), so no value can open another rule.
 */
import { Appearance, type AppearanceVariable } from '../../protocol/appearance.ts';

export { Appearance };

export const variableProperty = (name: AppearanceVariable) => `--blind-score-${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/**
 * Applies `appearance` to `host` and its shadow `root`, undoing what `previous` set. Returns the
 * stylesheet of the rules (to replace next time).
 */
export function applyAppearance(
  host: HTMLElement,
  root: ShadowRoot,
  appearance: Appearance | undefined,
  previous: { appearance: Appearance | undefined; sheet: CSSStyleSheet | undefined },
): CSSStyleSheet | undefined {
  for (const name of Object.keys(previous.appearance?.variables ?? {}) as AppearanceVariable[]) {
    host.style.removeProperty(variableProperty(name));
  }
  if (previous.sheet) root.adoptedStyleSheets = root.adoptedStyleSheets.filter((s) => s !== previous.sheet);
  if (appearance?.theme) host.dataset['theme'] = appearance.theme;
  else delete host.dataset['theme'];
  for (const [name, value] of Object.entries(appearance?.variables ?? {})) {
    if (value !== undefined) host.style.setProperty(variableProperty(name as AppearanceVariable), value);
  }
  const rules = Object.entries(appearance?.rules ?? {});
  if (rules.length === 0) return undefined;
  const sheet = new CSSStyleSheet();
  for (const [part, declarations] of rules) {
    const index = sheet.insertRule(`[part~='${part}'] {}`, sheet.cssRules.length);
    const rule = sheet.cssRules[index] as CSSStyleRule;
    for (const [property, value] of Object.entries(declarations)) rule.style.setProperty(property, value, 'important');
  }
  root.adoptedStyleSheets = [...root.adoptedStyleSheets, sheet];
  return sheet;
}
