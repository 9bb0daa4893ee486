/**
 * End to end: the `npm start` stack (evaluator, `wrangler dev`, the demo bank page) driven in
 * Chromium like a person would, for each kind of decision the model makes, and for answers the
 * form must refuse; then the bank backend of the applicant-mode page. Applicants and expected
 * sentences come from the cleartext model.
 */
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Model } from '../../model/manifest.ts';
import { en } from '../../widget/src/translations/en.ts';
import { loadRecords, type CustomerRecords } from '../../demo/bank-backend/records.ts';
import { expectedTexts, loadDemoModel, pickApplicants, type Applicant } from './support/applicants.ts';
import { BankPage } from './support/bank-page.ts';
import { launchChromium } from './support/browser.ts';
import { startTestStack, type TestStack } from './support/stack.ts';

describe('the demo bank page, end to end', () => {
  let env: TestStack | undefined;
  let browser: Browser | undefined;
  let context: BrowserContext;
  let model: Model;
  let applicants: Record<Applicant['outcome']['kind'], Applicant>;

  beforeAll(async () => {
    model = await loadDemoModel();
    applicants = pickApplicants(model);
    [env, browser] = await Promise.all([startTestStack(), launchChromium()]);
    // One context for the suite: the page's `cache-keys` lets later checks reuse the first keys.
    context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
  });

  afterAll(async () => {
    await browser?.close();
    await env?.dispose();
  });

  const cases = [
    ['approved', 'shows "likely approved"'],
    ['suggest', 'shows "likely not approved" and the years of employment that would change it'],
    ['none', 'shows "likely not approved" and that no length of employment would change it'],
  ] as const;

  for (const [kind, title] of cases) {
    it(`${kind}: ${title}`, async () => {
      const applicant = applicants[kind];
      const bank = await BankPage.open(context, env!.stack, model);
      await bank.fill(applicant.features);
      await bank.submit();

      const outcome = await bank.waitForOutcome();
      const shown = await bank.shownText();
      await bank.screenshot(`decision-${kind}`);
      expect(outcome, shown).toBe('result');
      const expected = expectedTexts(applicant.outcome);
      expect(shown).toContain(expected.title);
      for (const line of expected.lines) expect(shown).toContain(line);
      if (kind === 'approved') expect(shown).not.toContain(en.deniedTitle);
      else expect(shown).not.toContain(en.approvedTitle);

      // The bank's own page reacts to the widget's decision event.
      const nextStep = bank.page.locator('#next-step');
      await nextStep.waitFor({ state: 'visible' });
      expect(await nextStep.innerText()).toMatch(kind === 'approved' ? /Start my application/ : /Compare other cards/);

      // The check went through the gateway and cleaned up after itself.
      const sent = bank.requestsSince(0);
      expect(sent.filter((r) => r === 'POST /v1/sessions')).toHaveLength(1);
      expect(sent.filter((r) => /^PUT \/v1\/sessions\/[^/]+\/server-key$/.test(r))).toHaveLength(1);
      expect(bank.cspReports).toEqual([]);
      await bank.close();
    });
  }

  it('invalid answers: the form names each problem and nothing is sent', async () => {
    const bank = await BankPage.open(context, env!.stack, model);
    await bank.fill(applicants.approved.features);
    await bank.field('age').fill('12');
    await bank.field('total_income').fill('');
    await bank.submit();

    const summary = bank.widget.locator('[part~="form-error"]');
    await summary.waitFor({ state: 'visible' });
    await bank.screenshot('invalid-input');
    expect(await summary.innerText()).toContain(en.formInvalid.replace('{count}', '2'));
    expect(await bank.fieldBox('age').innerText()).toContain(en.fieldMin.replace('{min}', String(minimumOf(model, 'age'))));
    expect(await bank.fieldBox('total_income').innerText()).toContain(en.fieldRequired);
    expect(await bank.field('age').getAttribute('aria-invalid')).toBe('true');
    // Focus goes to the first field to fix, in the form's order.
    const first = model.manifest.features.find((f) => f.name === 'age' || f.name === 'total_income')!.name;
    expect(await bank.field(first).evaluate((el) => (el.getRootNode() as ShadowRoot).activeElement === el)).toBe(true);

    // Fixing the answers clears the messages; no session was ever created.
    await bank.field('age').fill(String(applicants.approved.features.age));
    await bank.field('total_income').fill(String(applicants.approved.features.total_income));
    await summary.waitFor({ state: 'detached' });
    expect(bank.requestsSince(0).filter((r) => r.startsWith('POST '))).toEqual([]);
    await bank.close();
  });

  describe('applicant mode: the bank\u2019s and the bureau\u2019s records come from their servers', () => {
    let records: CustomerRecords[];
    beforeAll(() => {
      records = loadRecords();
    });

    it('the bank backend answers bad requests with a status and { code, message }', async () => {
      const api = (path: string, init?: RequestInit) => fetch(new URL(path, env!.stack.url), init);
      const post = (session: string, body: string, type = 'application/json') =>
        api(`/api/sessions/${session}/party-inputs`, { method: 'POST', headers: { 'content-type': type }, body });
      const unknownSession = 'A'.repeat(22);
      const cases: [Promise<Response>, number, string][] = [
        [post('not-a-session', '{"customer":"LB-20417"}'), 400, 'invalid_request'],
        [post(unknownSession, '{"customer":"LB-00000"}'), 404, 'unknown_customer'],
        [post(unknownSession, '{"customer":"LB-20417","account_age":3}'), 400, 'invalid_request'],
        [post(unknownSession, '{"customer":'), 400, 'invalid_json'],
        [post(unknownSession, 'customer=LB-20417', 'application/x-www-form-urlencoded'), 415, 'unsupported_media_type'],
        [post(unknownSession, JSON.stringify({ customer: 'x'.repeat(4096) })), 413, 'body_too_large'],
        [post(unknownSession, '{"customer":"LB-20417"}'), 502, 'party_upload_failed'],
        [api(`/api/sessions/${unknownSession}/party-commands?customer=LB-1`), 400, 'invalid_request'],
        [api('/api/nothing-here'), 404, 'not_found'],
      ];
      for (const [pending, status, code] of cases) {
        const res = await pending;
        const body = (await res.json()) as { code: string; message: string };
        expect({ status: res.status, code: body.code }, body.message).toEqual({ status, code });
        expect(body.message.length).toBeGreaterThan(0);
      }
      const listed = (await (await api('/api/customers')).json()) as { customers: { reference: string }[] };
      expect(listed.customers.map((c) => c.reference)).toEqual(records.map((r) => r.reference));
    });
  });
});

function minimumOf(model: Model, name: 'age'): number {
  const feature = model.manifest.features.find((f) => f.name === name);
  if (!feature || feature.kind === 'boolean' || feature.kind === 'category') throw new Error(`${name} is not numeric`);
  return feature.min;
}
