/// <reference types="mocha" />
/**
 * The built bundles (`npm run build:widget`, in dist/widget/) embedded the way widget/README.md
 * says, in a page served under a strict Content-Security-Policy (`script-src 'self'
 * 'wasm-unsafe-eval'`, no inline script, no eval, no blob: workers): they must run a whole check
 * without a single violation report. Without `'wasm-unsafe-eval'` they must fail cleanly.
 */
import { expect, waitUntil } from '@open-wc/testing';
import type { BlindScore } from '../../widget/src/blind-score.ts';
import type { BlindScoreErrorDetail } from '../../widget/src/events.ts';
import { seedCachedKeys } from './support/element.ts';

interface CspReport {
  'csp-report'?: { 'document-uri'?: string; 'violated-directive'?: string; 'blocked-uri'?: string };
}

async function reportsFor(path: string): Promise<CspReport[]> {
  const all = (await (await fetch('/csp-reports')).json()) as CspReport[];
  return all.filter((r) => r['csp-report']?.['document-uri']?.includes(path));
}

/** Loads a host page in an iframe and returns its `<blind-score>` once the form is up. */
async function hostPage(path: string): Promise<{ frame: HTMLIFrameElement; el: BlindScore }> {
  const frame = document.createElement('iframe');
  frame.style.width = '1000px';
  frame.style.height = '900px';
  frame.src = path;
  document.body.append(frame);
  await new Promise((r) => frame.addEventListener('load', r, { once: true }));
  const el = frame.contentDocument!.querySelector('blind-score') as BlindScore;
  await waitUntil(() => el.shadowRoot?.querySelector('[part~="form"]'), 'the form renders', { timeout: 20_000 });
  return { frame, el };
}

const shadowPart = (el: BlindScore, name: string) => el.shadowRoot!.querySelector<HTMLElement>(`[part~="${name}"]`);

describe('built bundles under a strict Content-Security-Policy', () => {
  let cleanup: () => Promise<void>;
  before(async () => {
    cleanup = await seedCachedKeys();
  });
  after(() => cleanup());

  for (const build of ['drop-in', 'module'] as const) {
    it(`${build}: runs a whole check with no violation`, async () => {
      const base = `/csp/${build}/strict/`;
      const { frame, el } = await hostPage(`${base}index.html`);
      const ownCar = el.shadowRoot!.querySelector<HTMLInputElement>('[name="own_car"]')!;
      ownCar.click();
      const decided = new Promise<CustomEvent>((resolve, reject) => {
        el.addEventListener('blind-score:decision', (e) => resolve(e as CustomEvent), { once: true });
        el.addEventListener('blind-score:error', (e) => reject(new Error(JSON.stringify((e as CustomEvent).detail))), { once: true });
      });
      shadowPart(el, 'submit')!.click();
      const { detail } = await decided;
      expect(detail.approved).to.equal(true);
      // Reports are posted asynchronously. A deliberate violation after the check is the
      // control: once its report has arrived, any report of the check would have too, and it
      // must be the only one.
      try {
        (frame.contentWindow as unknown as { eval(code: string): unknown }).eval('0');
      } catch {
        // EvalError: refused by the policy, as intended.
      }
      await waitUntil(async () => (await reportsFor(base)).length > 0, 'the control violation is reported', { timeout: 10_000 });
      expect((await reportsFor(base)).map((r) => r['csp-report']?.['blocked-uri'])).to.deep.equal(['eval']);
      frame.remove();
    });
  }

  it('without wasm-unsafe-eval the check fails with wasm_load_failed, and the policy reports it', async () => {
    const base = '/csp/drop-in/no-wasm/';
    const { frame, el } = await hostPage(`${base}index.html`);
    const failed = new Promise<BlindScoreErrorDetail>((resolve) =>
      el.addEventListener('blind-score:error', (e) => resolve((e as CustomEvent<BlindScoreErrorDetail>).detail), { once: true }),
    );
    shadowPart(el, 'submit')!.click();
    expect((await failed).code).to.equal('wasm_load_failed');
    await waitUntil(async () => (await reportsFor(base)).length > 0, 'a violation report arrives', { timeout: 5_000 });
    frame.remove();
  });
});
