/// <reference types="mocha" />
/**
 * WCAG AA contrast (text 4.5:1, large text 3:1) of the result and error views, measured on what
 * Chromium renders, in every theme the element ships (default light and dark, night, flat) and in
 * host-customised ones it accepts (the tenant's brand, the README's `appearance` example, a light
 * brand colour given alone, a host restyling surfaces on the night theme). The scripted test
 * gateway gives the views quickly; the colours are the element's alone.
 */
import { expect } from '@open-wc/testing';
import { emulateMedia, sendMouse } from '@web/test-runner-commands';
import type { Appearance } from '../../protocol/appearance.ts';
import type { BlindScore } from '../../widget/src/blind-score.ts';
import { lowContrastText, visibleTextCount } from './support/contrast.ts';
import { answer, mount, part, seedCachedKeys, snap, submitAndWait } from './support/element.ts';

interface Theme {
  name: string;
  appearance?: Appearance;
  /** The system's dark mode (the default theme follows it). */
  dark?: boolean;
}

const THEMES: Theme[] = [
  { name: 'default' },
  { name: 'default-dark', dark: true },
  { name: 'night', appearance: { theme: 'night' } },
  { name: 'flat', appearance: { theme: 'flat' } },
  // The test tenant's brand (tests/browser/server/test-gateway.ts, pk_test_branded).
  { name: 'tenant-brand', appearance: { theme: 'flat', variables: { accent: '#0a5028' } } },
  // widget/README.md's `appearance` example: a dark brand colour on the night theme.
  { name: 'readme-example', appearance: { theme: 'night', variables: { accent: '#0a5028', radius: '0.25rem' } } },
  // A partner whose brand colour is light, given alone.
  { name: 'light-brand', appearance: { variables: { accent: '#f59e0b' } } },
  // A host that restyles the surfaces of the night theme, setting text and surface as a pair.
  { name: 'host-surfaces', appearance: { theme: 'night', variables: { surface: '#0f172a', text: '#f1f5f9', accent: '#38bdf8' } } },
];

/** Text below AA in `view()` under each theme, as `view/theme: ratio < required "text" where`. */
async function lowContrastInThemes(el: BlindScore, label: string, view: () => Element): Promise<string[]> {
  const failures: string[] = [];
  for (const theme of THEMES) {
    el.appearance = theme.appearance;
    await el.updateComplete;
    if (theme.dark) await emulateMedia({ colorScheme: 'dark' });
    try {
      const root = view();
      expect(visibleTextCount(root), `${label}/${theme.name} shows text`).to.be.greaterThan(2);
      for (const f of lowContrastText(root)) {
        failures.push(`${label}/${theme.name}: ${f.ratio}:1 < ${f.required}:1 "${f.text}" ${f.where}`);
      }
      // Each button under the pointer (its hover colours).
      for (const button of root.querySelectorAll('button')) {
        const r = button.getBoundingClientRect();
        await sendMouse({ type: 'move', position: [Math.round(r.x + r.width / 2), Math.round(r.y + r.height / 2)] });
        expect(button.matches(':hover'), 'the pointer is on the button').to.equal(true);
        for (const f of lowContrastText(button)) {
          failures.push(`${label}/${theme.name} (hover): ${f.ratio}:1 < ${f.required}:1 "${f.text}" ${f.where}`);
        }
      }
      await sendMouse({ type: 'move', position: [0, 0] });
      if (theme.name === 'readme-example') await snap(`contrast-${label}-${theme.name}`, el);
    } finally {
      if (theme.dark) await emulateMedia({ colorScheme: 'light' });
    }
  }
  el.appearance = undefined;
  await el.updateComplete;
  return failures;
}

describe('contrast of the result and error views', () => {
  let cleanup: () => Promise<void>;
  before(async () => {
    cleanup = await seedCachedKeys();
  });
  after(() => cleanup());

  it('the approved and the explained denied result pass AA in every theme', async () => {
    const el = await mount('pk_test_demo');
    await answer(el, 'own_car', true);
    expect((await submitAndWait(el, 'blind-score:decision')).detail.approved).to.equal(true);
    const failures = await lowContrastInThemes(el, 'approved', () => part(el, 'result')!);
    part<HTMLButtonElement>(el, 'change')!.click();
    await el.updateComplete;
    await answer(el, 'own_car', false);
    await answer(el, 'own_property', true);
    expect((await submitAndWait(el, 'blind-score:decision')).detail.approved).to.equal(false);
    expect(part(el, 'explain')).to.exist;
    failures.push(...(await lowContrastInThemes(el, 'denied', () => part(el, 'result')!)));
    expect(failures).to.deep.equal([]);
  });

  it('the error view, with its code, "Try again" and "Edit answers", passes AA in every theme', async () => {
    const el = await mount('pk_test_rate_limited');
    await submitAndWait(el, 'blind-score:error');
    expect(part(el, 'retry')).to.exist;
    expect(part(el, 'edit')).to.exist;
    expect(await lowContrastInThemes(el, 'error', () => part(el, 'error')!)).to.deep.equal([]);

    // The measure bites: a muted grey a host might pick fails on the error's tint, and is named.
    el.appearance = { variables: { muted: '#a3a3a3' } };
    await el.updateComplete;
    const found = lowContrastText(part(el, 'error')!);
    expect(found.map((f) => f.where)).to.include('<p> in [part="error-code"]');
  });
});
