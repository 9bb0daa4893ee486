/// <reference types="mocha" />
/**
 * `<blind-score>` before any check: rendering in both modes, validation, slots, parts, string
 * overrides, the locale switch, white-labeling, keyboard use and the accessibility audit.
 */
import { expect, fixture, html, oneEvent, waitUntil } from '@open-wc/testing';
import { emulateMedia, sendKeys } from '@web/test-runner-commands';
import { FEATURE_NAMES } from '../../model/features.ts';
import type { Manifest } from '../../model/manifest.ts';
import { askedFeatures } from '../../widget/src/form/values.ts';
import type { BlindScore } from '../../widget/src/blind-score.ts';
import { loadManifest } from './support/fixtures.ts';
import { answer, audit, control, focused, GATEWAY_URL, mount, part, parts, snap } from './support/element.ts';

/** The features the model reads from a party, in form order: all the form may ask for. */
const readBy = (manifest: Manifest, party: string) =>
  askedFeatures(manifest)
    .filter((f) => f.party === party)
    .map((f) => f.name);

/** Requests the page made to a path ending as given, as the browser's resource timing reports them. */
const requestsTo = (suffix: RegExp) => performance.getEntriesByType('resource').filter((e) => suffix.test(new URL(e.name).pathname)).length;

describe('form: applicant mode', () => {
  let el: BlindScore;
  let applicantFields: string[];
  beforeEach(async () => {
    el = await mount('pk_test_applicant', { mode: 'applicant' });
    applicantFields = readBy(await loadManifest(), 'applicant');
  });

  it('passes the accessibility audit', async () => {
    await audit(el);
  });

  it('asks only for the applicant’s answers that the model reads, each labelled and described', () => {
    const names = parts(el, 'input').map((c) => c.getAttribute('name'));
    expect(names).to.deep.equal(applicantFields);
    // Data minimisation: an answer the model does not read is not even asked.
    expect(names).not.to.include('mobile_phone');
    expect(names.length).to.be.lessThan(12);
    for (const c of parts(el, 'input')) {
      const label = el.shadowRoot!.querySelector(`label[for="${c.id}"]`);
      expect(label, `label for ${c.id}`).to.exist;
      expect(c.getAttribute('aria-describedby')).to.contain(`${c.id}-help`);
    }
    expect(parts(el, 'panel')).to.have.length(1);
    expect(part(el, 'submit')!.textContent!.trim()).to.equal('Check eligibility');
  });

  it('leaves income and age blank and explains what is missing on submit', async () => {
    expect(control(el, 'total_income').value).to.equal('');
    part<HTMLButtonElement>(el, 'submit')!.click();
    await el.updateComplete;
    expect(part(el, 'form-error')!.textContent).to.contain('2 to fix');
    expect(part(el, 'form-error')!.getAttribute('role')).to.equal('alert');
    expect(control(el, 'total_income').getAttribute('aria-invalid')).to.equal('true');
    expect(el.shadowRoot!.querySelector('#field-total_income-error')!.textContent).to.equal('Enter a value.');
    expect(control(el, 'total_income').getAttribute('aria-describedby')).to.contain('field-total_income-error');
    // Focus moves to the first invalid field.
    expect(focused(el)).to.equal(control(el, 'total_income'));
    await audit(el);
  });

  it('lists the fields to fix as links, and shows invalid fields by more than colour', async () => {
    part<HTMLButtonElement>(el, 'submit')!.click();
    await el.updateComplete;
    const links = [...part(el, 'form-error')!.querySelectorAll('a')];
    expect(links.map((a) => a.textContent!.trim())).to.deep.equal(['Yearly income', 'Age']);
    expect(part(el, 'form-error')!.textContent).to.contain('Enter a value.');
    links[1]!.click();
    expect(focused(el)).to.equal(control(el, 'age'));
    // A thicker edge and a sign, not only a red border.
    expect(getComputedStyle(control(el, 'age')).borderLeftWidth).to.equal('6px');
    await answer(el, 'age', '40');
    expect(getComputedStyle(control(el, 'age')).borderLeftWidth).to.equal('1px');
    const sign = getComputedStyle(el.shadowRoot!.querySelector('#field-total_income-error')!, '::before').content;
    expect(sign).to.contain('\u26A0');
  });

  it('names the currency of money fields, as the locale writes it', async () => {
    const label = () => el.shadowRoot!.querySelector('label[for="field-total_income"]')!.textContent!.trim();
    expect(label()).to.equal('Yearly income');
    el.currency = 'GBP';
    await el.updateComplete;
    expect(label()).to.equal('Yearly income (£)');
    el.currency = 'EUR';
    el.locale = 'fr';
    await waitUntil(() => label().startsWith('Revenu annuel'));
    expect(label()).to.equal('Revenu annuel (€)');
    el.locale = 'en';
    el.currency = undefined;
    await el.updateComplete;
  });

  it('takes the currency from the manifest (the bank’s schema); the host’s `currency` overrides it', async () => {
    const label = () => el.shadowRoot!.querySelector('label[for="field-total_income"]')!.textContent!.trim();
    const manifest = await loadManifest();
    const warnings: string[] = [];
    const warn = console.warn;
    console.warn = (...args: unknown[]) => warnings.push(args.map(String).join(' '));
    try {
      el.manifest = {
        ...manifest,
        features: manifest.features.map((f) => (f.name === 'total_income' && f.kind === 'number' ? { ...f, currency: 'GBP' } : f)),
      };
      await el.updateComplete;
      expect(label()).to.equal('Yearly income (£)');
      el.currency = 'EUR';
      await el.updateComplete;
      expect(label()).to.equal('Yearly income (€)');
      // A host relabelling the model's amounts is told, once, in development builds.
      expect(warnings.filter((w) => w.includes('[currency-override]'))).to.have.length(1);
      el.currency = undefined;
      await el.updateComplete;
      expect(label()).to.equal('Yearly income (£)');
    } finally {
      console.warn = warn;
    }
  });

  it('says "3e" is not a number, and writes limits as the locale does', async () => {
    control(el, 'age').focus();
    await sendKeys({ type: '3e' });
    await el.updateComplete;
    part<HTMLButtonElement>(el, 'submit')!.click();
    await el.updateComplete;
    expect(el.shadowRoot!.querySelector('#field-age-error')!.textContent).to.contain('not a number');
    expect(control(el, 'age').matches(':invalid')).to.equal(true);
    await answer(el, 'total_income', '20000000');
    expect(el.shadowRoot!.querySelector('#field-total_income-error')!.textContent).to.equal('Enter 10,000,000 or less.');
    el.locale = 'fr';
    await el.updateComplete;
    await waitUntil(() => el.shadowRoot!.querySelector('#field-total_income-error')!.textContent!.includes('Saisissez'));
    expect(el.shadowRoot!.querySelector('#field-total_income-error')!.textContent).to.equal('Saisissez 10\u202f000\u202f000 ou moins.');
    el.locale = 'en';
    await el.updateComplete;
  });

  it('checks ranges and whole numbers as the applicant types', async () => {
    part<HTMLButtonElement>(el, 'submit')!.click();
    await el.updateComplete;
    await answer(el, 'age', '150');
    expect(el.shadowRoot!.querySelector('#field-age-error')!.textContent).to.equal('Enter 100 or less.');
    await answer(el, 'age', '30.5');
    expect(el.shadowRoot!.querySelector('#field-age-error')!.textContent).to.equal('Enter a whole number.');
    await answer(el, 'age', '17');
    expect(el.shadowRoot!.querySelector('#field-age-error')!.textContent).to.equal('Enter 18 or more.');
    await answer(el, 'age', '30');
    await answer(el, 'total_income', '28000');
    expect(part(el, 'form-error')).to.equal(null);
    expect(parts(el, 'field-error')).to.have.length(0);
    expect(el.checkValidity()).to.equal(true);
  });

  it('renders host content in a field’s label slot', async () => {
    const host =
      await fixture<BlindScore>(html`<blind-score mode="applicant" gateway-url=${GATEWAY_URL} publishable-key="pk_test_applicant">
      <span slot="label-total_income">Annual salary (EUR)</span>
    </blind-score>`);
    // The form renders once the manifest has loaded.
    await waitUntil(() => host.shadowRoot?.querySelector('slot[name="label-total_income"]'), 'the form renders', { timeout: 20_000 });
    const slot = host.shadowRoot!.querySelector<HTMLSlotElement>('slot[name="label-total_income"]')!;
    expect(slot.assignedNodes().map((n) => n.textContent)).to.deep.equal(['Annual salary (EUR)']);
  });

  it('takes string overrides for any visible text', async () => {
    el.strings = { submit: 'See my chances', fieldRequired: 'Please fill this in.' };
    await el.updateComplete;
    expect(part(el, 'submit')!.textContent!.trim()).to.equal('See my chances');
    part<HTMLButtonElement>(el, 'submit')!.click();
    await el.updateComplete;
    expect(el.shadowRoot!.querySelector('#field-age-error')!.textContent).to.equal('Please fill this in.');
  });

  it('takes overrides of the manifest’s field texts and option names', async () => {
    el.labels = { fields: { age: { help: 'As on your ID card.' } } };
    await el.updateComplete;
    expect(el.shadowRoot!.querySelector('#field-age-help')!.textContent).to.equal('As on your ID card.');
    expect(el.shadowRoot!.querySelector('label[for="field-age"]')!.textContent!.trim()).to.equal('Age');
    // The applicant's form has no choice list now (none the model reads); the bureau's panel has one.
    const demo = await mount('pk_test_demo', { mode: 'demo' });
    demo.labels = { options: { years_employed: { '2-5': 'Two to five years' } } };
    await demo.updateComplete;
    const options = [...control<HTMLSelectElement>(demo, 'years_employed').options].map((o) => o.textContent);
    expect(options).to.include('Two to five years').and.to.include('18 years or more');
  });

  it('switches to French and back', async () => {
    el.locale = 'fr';
    // The French strings load asynchronously.
    await waitUntil(() => part(el, 'submit')?.textContent?.trim() !== 'Check eligibility', 'the French strings load', { timeout: 10_000 });
    await el.updateComplete;
    expect(part(el, 'submit')!.textContent!.trim()).to.equal('Vérifier l’éligibilité');
    expect(el.shadowRoot!.querySelector('label[for="field-total_income"]')!.textContent!.trim()).to.equal('Revenu annuel');
    expect(el.shadowRoot!.querySelector('label[for="field-household_size"]')!.textContent!.trim()).to.equal('Taille du foyer');
    await audit(el);
    el.locale = 'en';
    await waitUntil(() => part(el, 'submit')?.textContent?.trim() !== 'Vérifier l’éligibilité', 'the English strings are back', {
      timeout: 10_000,
    });
    await el.updateComplete;
    expect(part(el, 'submit')!.textContent!.trim()).to.equal('Check eligibility');
  });

  it('is white-labeled through custom properties and parts', async () => {
    el.style.setProperty('--blind-score-accent', 'rgb(10, 80, 40)');
    el.style.setProperty('--blind-score-radius', '0px');
    el.style.setProperty('--blind-score-font', 'Georgia, serif');
    await el.updateComplete;
    const submit = part(el, 'submit')!;
    expect(getComputedStyle(submit).backgroundColor).to.equal('rgb(10, 80, 40)');
    expect(getComputedStyle(part(el, 'base')!).borderTopLeftRadius).to.equal('0px');
    expect(getComputedStyle(part(el, 'base')!).fontFamily).to.contain('Georgia');
    for (const name of [
      'base',
      'header',
      'title',
      'intro',
      'form',
      'panel',
      'field',
      'label',
      'input',
      'help',
      'actions',
      'submit',
      'privacy-note',
    ]) {
      expect(part(el, name), `part ${name}`).to.exist;
    }
  });

  it('works from the keyboard alone', async () => {
    control(el, 'own_car').focus();
    await sendKeys({ press: 'Space' });
    await el.updateComplete;
    expect(control(el, 'own_car').checked).to.equal(true);
    // Tab walks the fields in order, then reaches the submit button.
    const order: string[] = [];
    for (let i = 0; i < applicantFields.length; i++) {
      order.push(focused(el)?.getAttribute('name') ?? focused(el)?.getAttribute('part') ?? '');
      await sendKeys({ press: 'Tab' });
    }
    expect(order).to.deep.equal(applicantFields);
    expect(focused(el)?.getAttribute('part')).to.equal('submit');
    await sendKeys({ press: 'Enter' });
    await el.updateComplete;
    expect(part(el, 'form-error')).to.exist;
    expect(focused(el)).to.equal(control(el, 'total_income'));
  });
});

describe('appearance', () => {
  const background = (el: BlindScore) => getComputedStyle(part(el, 'base')!).backgroundColor;

  it('themes pass the contrast audit, with field errors shown; the default follows the dark mode', async () => {
    const el = await mount('pk_test_applicant', { mode: 'applicant' });
    part<HTMLButtonElement>(el, 'submit')!.click();
    await el.updateComplete;
    expect(background(el)).to.equal('rgb(255, 255, 255)');
    await snap('theme-default', el);
    for (const [theme, surface] of [
      ['night', 'rgb(17, 24, 39)'],
      ['flat', 'rgb(249, 250, 251)'],
    ] as const) {
      el.appearance = { theme };
      await el.updateComplete;
      expect(background(el), theme).to.equal(surface);
      await audit(el);
      await snap(`theme-${theme}`, el);
    }
    el.appearance = undefined;
    await el.updateComplete;
    await emulateMedia({ colorScheme: 'dark' });
    try {
      expect(background(el)).to.equal('rgb(17, 24, 39)');
      await audit(el);
      await snap('theme-default-dark', el);
    } finally {
      await emulateMedia({ colorScheme: 'light' });
    }
    expect(background(el)).to.equal('rgb(255, 255, 255)');
  });

  it('sets variables by name and styles parts by rules, and undoes them when changed', async () => {
    const el = await mount('pk_test_applicant', { mode: 'applicant' });
    el.appearance = { variables: { accent: '#0a5028', radius: '0' }, rules: { submit: { 'text-transform': 'uppercase' } } };
    await el.updateComplete;
    const submit = part(el, 'submit')!;
    expect(getComputedStyle(submit).backgroundColor).to.equal('rgb(10, 80, 40)');
    expect(getComputedStyle(submit).textTransform).to.equal('uppercase');
    expect(getComputedStyle(part(el, 'base')!).borderTopLeftRadius).to.equal('0px');
    el.appearance = { theme: 'night' };
    await el.updateComplete;
    expect(getComputedStyle(submit).backgroundColor).to.equal('rgb(96, 165, 250)');
    expect(getComputedStyle(submit).textTransform).to.equal('none');
    // A value that would open another rule is refused whole, with a development warning.
    const warnings: string[] = [];
    const original = console.warn;
    console.warn = (...args: unknown[]) => warnings.push(args.join(' '));
    try {
      el.appearance = { variables: { accent: 'red; } [part~=submit] { display: none' } };
      await el.updateComplete;
    } finally {
      console.warn = original;
    }
    expect(warnings.some((w) => w.includes('[invalid-appearance]'))).to.equal(true);
    expect(getComputedStyle(submit).display).not.to.equal('none');
    expect(el.dataset['theme']).to.equal(undefined);
  });

  it('comes from the tenant’s configuration when the page sets none', async () => {
    const el = await mount('pk_test_branded', { mode: 'applicant' });
    await waitUntil(() => el.dataset['theme'] === 'flat', 'the tenant’s theme applies');
    expect(getComputedStyle(part(el, 'submit')!).backgroundColor).to.equal('rgb(10, 80, 40)');
    expect(background(el)).to.equal('rgb(249, 250, 251)');
    await audit(el);
    // The page's own appearance wins.
    el.appearance = { theme: 'night' };
    await el.updateComplete;
    expect(el.dataset['theme']).to.equal('night');
  });
});

describe('form: demo mode', () => {
  it('shows the applicant, bank and credit bureau panels, prefilled, and passes the audit', async () => {
    const el = await mount('pk_test_demo', { mode: 'demo' });
    expect(parts(el, 'panel').map((p) => p.getAttribute('part'))).to.deep.equal([
      'panel panel-applicant',
      'panel panel-bank',
      'panel panel-bureau',
    ]);
    expect(parts(el, 'panel-heading').map((h) => h.textContent)).to.deep.equal(['Your details', 'Bank', 'Credit bureau']);
    const manifest = await loadManifest();
    expect(parts(el, 'input').map((c) => c.getAttribute('name'))).to.have.members(askedFeatures(manifest).map((f) => f.name));
    expect(el.checkValidity()).to.equal(true);
    await audit(el);
  });
});

describe('form: plausibility', () => {
  it('refuses years employed beyond the years since 16, field by field, and sends nothing', async () => {
    const el = await mount('pk_test_demo', { mode: 'demo', cacheKeys: false });
    // Typing may prepare a session and keys ahead (no answer in them); no answer of the
    // applicant's may leave the page (demo mode may send the bank's and the bureau's panels
    // ahead once they are valid and plausible: the bank's own data).
    const inputsBefore = requestsTo(/\/inputs\/applicant$/);
    let progressed = false;
    el.addEventListener('blind-score:progress', (e) => {
      if (e.detail.phase === 'check') progressed = true;
    });
    await answer(el, 'age', '20');
    await answer(el, 'years_employed', '18+');
    part<HTMLButtonElement>(el, 'submit')!.click();
    await el.updateComplete;
    expect(part(el, 'form-error')!.textContent).to.contain('1 to fix');
    expect(el.shadowRoot!.querySelector('#field-years_employed-error')!.textContent).to.equal(
      'Too long for age 20: at most 4 years of work since age 16.',
    );
    expect(control(el, 'years_employed').getAttribute('aria-invalid')).to.equal('true');
    expect(el.shadowRoot!.querySelector('#field-age-error')).to.equal(null);
    expect(focused(el)).to.equal(control(el, 'years_employed'));
    await audit(el);
    // An older applicant makes the same answer plausible; the message goes as the answer changes.
    await answer(el, 'age', '40');
    expect(part(el, 'form-error')).to.equal(null);
    expect(el.shadowRoot!.querySelector('#field-years_employed-error')).to.equal(null);
    expect(progressed).to.equal(false);
    expect(requestsTo(/\/inputs\/applicant$/)).to.equal(inputsBefore);
  });

  it('refuses more children than the household holds, when the bank chose to collect them (fr too)', async () => {
    const manifest = await loadManifest();
    // The bank explicitly collects the number of children, which the model does not read.
    const collected: Manifest = structuredClone(manifest);
    collected.inputs.push({
      name: 'num_children',
      feature: 'num_children',
      party: 'applicant',
      bits: 2,
      digits: 1,
      quantizer: { kind: 'thresholds', cuts: [1, 2, 3] },
    });
    collected.unreadInputs = ['num_children'];
    const el = await fixture<BlindScore>(html`<blind-score mode="applicant" locale="en"></blind-score>`);
    el.manifest = collected;
    await waitUntil(() => part(el, 'form'), 'the form appears', { timeout: 20_000 });
    expect(parts(el, 'input').map((c) => c.getAttribute('name'))).to.include('num_children');
    await answer(el, 'household_size', '2');
    await answer(el, 'num_children', '2');
    expect(el.checkValidity()).to.equal(false);
    await el.updateComplete;
    expect(el.shadowRoot!.querySelector('#field-num_children-error')!.textContent).to.equal(
      'Enter fewer children than the household size (which counts you too).',
    );
    el.locale = 'fr';
    await waitUntil(
      () => el.shadowRoot!.querySelector('#field-num_children-error')?.textContent?.startsWith('Saisissez'),
      'the French message',
      { timeout: 10_000 },
    );
    expect(el.shadowRoot!.querySelector('#field-num_children-error')!.textContent).to.equal(
      'Saisissez moins d’enfants que de personnes au foyer (vous compris).',
    );
    await answer(el, 'num_children', '1');
    expect(el.shadowRoot!.querySelector('#field-num_children-error')).to.equal(null);
  });
});

describe('form: a manifest set by the host', () => {
  it('is checked like a fetched one, and refused when it fails the schema', async () => {
    const el = await fixture<BlindScore>(html`<blind-score mode="demo"></blind-score>`);
    const manifest = await loadManifest();
    el.manifest = { ...manifest, inputs: [] };
    const { detail } = await oneEvent(el, 'blind-score:error');
    expect(detail.code).to.equal('invalid_manifest');
    el.manifest = structuredClone(manifest);
    await el.updateComplete;
    await el.updateComplete;
    expect(parts(el, 'input')).to.have.length(askedFeatures(manifest).length);
    expect(askedFeatures(manifest).length).to.be.lessThan(FEATURE_NAMES.length);
  });
});

describe('development warnings', () => {
  it('warn once, with a code, about a plain-http gateway and a missing publishable key', async () => {
    const warnings: string[] = [];
    const original = console.warn;
    console.warn = (...args: unknown[]) => warnings.push(args.join(' '));
    try {
      await fixture(html`<blind-score gateway-url="http://bank.example/api"></blind-score>`);
      await fixture(html`<blind-score gateway-url="http://bank.example/api"></blind-score>`);
    } finally {
      console.warn = original;
    }
    expect(warnings.filter((w) => w.includes('[insecure-gateway]'))).to.have.length(1);
    expect(warnings.filter((w) => w.includes('[no-publishable-key]'))).to.have.length(1);
  });

  it('say how to allow a refused origin, which the element reports by name', async () => {
    const warnings: string[] = [];
    const original = console.warn;
    console.warn = (...args: unknown[]) => warnings.push(args.join(' '));
    let el: BlindScore;
    try {
      el = await mount('pk_test_refused_origin');
    } finally {
      console.warn = original;
    }
    const hint = warnings.filter((w) => w.includes('[origin-not-allowed]'));
    expect(hint).to.have.length(1);
    expect(hint[0]).to.contain(location.origin).and.to.contain('allowedOrigins').and.to.contain(`--allow-origin ${location.origin}`);
    expect(part(el, 'error-code')!.textContent).to.contain('origin_not_allowed');
    expect(part(el, 'error-message')!.textContent).to.contain(location.origin);
    await audit(el);
  });
});

describe('the audit helper', () => {
  it('fails on a real violation, so a clean audit means something', async () => {
    const bad = await fixture(html`<div><input type="text" /><img src="data:," /></div>`);
    let message = '';
    await audit(bad).catch((e: Error) => (message = e.message));
    expect(message).to.contain('image-alt').and.to.contain('label');
  });
});
