/// <reference types="mocha" />
/**
 * `<blind-score>` before any check: rendering in both modes, validation, slots, parts, string
 * overrides, the locale switch, white-labeling, keyboard use and the accessibility audit.
 */
import { expect, fixture, html, oneEvent, waitUntil } from '@open-wc/testing';
import { sendKeys } from '@web/test-runner-commands';
import { FEATURE_NAMES, featuresOf } from '../../model/features.ts';
import type { BlindScore } from '../../widget/src/blind-score.ts';
import { loadManifest } from './support/fixtures.ts';
import { answer, audit, control, focused, GATEWAY_URL, mount, part, parts } from './support/element.ts';

describe('form: applicant mode', () => {
  let el: BlindScore;
  beforeEach(async () => {
    el = await mount('pk_test_applicant', { mode: 'applicant' });
  });

  it('passes the accessibility audit', async () => {
    await audit(el);
  });

  it('asks only for the applicant’s answers, each labelled and described', () => {
    const names = parts(el, 'input').map((c) => c.getAttribute('name'));
    expect(names).to.deep.equal(featuresOf('applicant'));
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
    const host = await fixture<BlindScore>(html`<blind-score mode="applicant" gateway-url=${GATEWAY_URL} publishable-key="pk_test_applicant">
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
    el.labels = {
      fields: { age: { help: 'As on your ID card.' } },
      options: { housing_type: { 'Rented apartment': 'Renting' } },
    };
    await el.updateComplete;
    expect(el.shadowRoot!.querySelector('#field-age-help')!.textContent).to.equal('As on your ID card.');
    expect(el.shadowRoot!.querySelector('label[for="field-age"]')!.textContent!.trim()).to.equal('Age');
    const options = [...control<HTMLSelectElement>(el, 'housing_type').options].map((o) => o.textContent);
    expect(options).to.include('Renting').and.to.include('With parents');
  });

  it('switches to French and back', async () => {
    el.locale = 'fr';
    // The French strings load asynchronously.
    await waitUntil(() => part(el, 'submit')?.textContent?.trim() !== 'Check eligibility', 'the French strings load', { timeout: 10_000 });
    await el.updateComplete;
    expect(part(el, 'submit')!.textContent!.trim()).to.equal('Vérifier l’éligibilité');
    expect(el.shadowRoot!.querySelector('label[for="field-total_income"]')!.textContent!.trim()).to.equal('Revenu annuel');
    expect(control<HTMLSelectElement>(el, 'housing_type').selectedOptions[0]!.textContent).to.equal('Maison ou appartement en propriété');
    await audit(el);
    el.locale = 'en';
    await waitUntil(() => part(el, 'submit')?.textContent?.trim() !== 'Vérifier l’éligibilité', 'the English strings are back', { timeout: 10_000 });
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
    for (const name of ['base', 'header', 'title', 'intro', 'form', 'panel', 'field', 'label', 'input', 'help', 'actions', 'submit', 'privacy-note']) {
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
    for (let i = 0; i < featuresOf('applicant').length; i++) {
      order.push(focused(el)?.getAttribute('name') ?? focused(el)?.getAttribute('part') ?? '');
      await sendKeys({ press: 'Tab' });
    }
    expect(order).to.deep.equal(featuresOf('applicant'));
    expect(focused(el)?.getAttribute('part')).to.equal('submit');
    await sendKeys({ press: 'Enter' });
    await el.updateComplete;
    expect(part(el, 'form-error')).to.exist;
    expect(focused(el)).to.equal(control(el, 'total_income'));
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
    expect(parts(el, 'input').map((c) => c.getAttribute('name'))).to.have.members(FEATURE_NAMES);
    expect(el.checkValidity()).to.equal(true);
    await audit(el);
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
    expect(parts(el, 'input')).to.have.length(FEATURE_NAMES.length);
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
});

describe('the audit helper', () => {
  it('fails on a real violation, so a clean audit means something', async () => {
    const bad = await fixture(html`<div><input type="text" /><img src="data:," /></div>`);
    let message = '';
    await audit(bad).catch((e: Error) => (message = e.message));
    expect(message).to.contain('image-alt').and.to.contain('label');
  });
});
