/**
 * Custom Elements Manifest of `<blind-score>` (`npm run build:widget` writes
 * `dist/widget/custom-elements.json`, named by `customElements` in package.json): attributes,
 * properties, methods, events, slots, CSS parts and custom properties, read from the element's
 * JSDoc and its Lit `static properties`.
 */

/** Lit's internal reactive state (`state: true`, private fields) is not part of the element's API. */
function dropPrivateState() {
  return {
    name: 'blind-score-drop-private-state',
    packageLinkPhase({ customElementsManifest }) {
      for (const mod of customElementsManifest.modules) {
        for (const decl of mod.declarations ?? []) {
          if (!decl.customElement) continue;
          const internal = new Set((decl.members ?? []).filter((m) => m.privacy === 'private').map((m) => m.name));
          decl.attributes = (decl.attributes ?? []).filter((a) => !internal.has(a.fieldName ?? a.name));
        }
      }
    },
  };
}

export default {
  globs: ['widget/src/blind-score.component.ts', 'widget/src/blind-score.ts'],
  outdir: 'dist/widget',
  litelement: true,
  // package.json names dist/widget/custom-elements.json itself; the analyzer must not rewrite it.
  packagejson: false,
  plugins: [dropPrivateState()],
};
