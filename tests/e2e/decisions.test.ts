/**
 * End to end: the `npm start` stack (evaluator, `wrangler dev`, the demo bank page) driven in
 * Chromium like a person would, for each kind of decision the model makes, and for answers the
 * form must refuse; then the applicant-mode page, whose bank and bureau records come from their
 * own servers (the demo bank backend, or `npm run party` by hand). Applicants and expected
 * sentences come from the cleartext model.
 */
import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Model } from '../../model/private-model.ts';
import { en } from '../../widget/src/translations/en.ts';
import { CustomersResponse, PartyInputsResponse } from '../../demo/bank-backend/api.ts';
import { loadRecords, type CustomerRecords } from '../../demo/bank-backend/records.ts';
import { expectedTexts, pickCustomerApplicant, pickNotEmployed, type CustomerApplicant } from './support/applicants.ts';
import { accessibilityViolations } from './support/axe.ts';
import { BankPage } from './support/bank-page.ts';
import { objectHashes, recordTraffic, runCommand, type PageTraffic } from './support/party-traffic.ts';
import { openDemoSuite, type DemoSuite } from './support/suite.ts';

const ROOT = join(import.meta.dirname, '..', '..');
/** A request carrying the applicant's answers, or starting a run. */
const APPLICANT_ANSWERS_OR_RUN = /\/(inputs\/applicant|run)$/;

describe('the demo bank page, end to end', () => {
  // One browser context for the suite: the page's `cache-keys` lets later checks reuse the first keys.
  let suite: DemoSuite;
  beforeAll(async () => {
    suite = await openDemoSuite();
  });
  afterAll(() => suite?.close());

  const cases = [
    ['approved', 'shows "likely approved"'],
    ['suggest', 'shows "likely not approved" and the years of employment that would change it'],
    ['none', 'shows "likely not approved" and that no length of employment would change it'],
  ] as const;

  for (const [kind, title] of cases) {
    it(`${kind}: ${title}`, async () => {
      const applicant = suite.applicants[kind];
      const bank = await BankPage.open(suite.context, suite.env.stack, suite.model);
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
      // The evaluation key in its six resumable parts, each once.
      expect(sent.filter((r) => /^PUT \/v1\/sessions\/[^/]+\/server-key\/uploads\/[^/]+\/parts\/\d+$/.test(r))).toHaveLength(6);
      expect(bank.cspReports).toEqual([]);
      await bank.close();
    });
  }

  it('not employed and denied: the explanation speaks of being employed', async () => {
    const applicant = pickNotEmployed(suite.model, 'suggest');
    const bank = await BankPage.open(suite.context, suite.env.stack, suite.model);
    await bank.fill(applicant.features);
    await bank.submit();
    const outcome = await bank.waitForOutcome();
    const shown = await bank.shownText();
    await bank.screenshot('decision-not-employed');
    expect(outcome, shown).toBe('result');
    const expected = expectedTexts(applicant.outcome, false);
    expect(expected.lines[1]).toMatch(/^If you were employed/);
    for (const line of expected.lines) expect(shown).toContain(line);
    expect(shown).not.toContain('years of employment');
    await bank.close();
  });

  it('implausible answers: each field that does not fit is named, and nothing is sent', async () => {
    const bank = await BankPage.open(suite.context, suite.env.stack, suite.model);
    await bank.fill(suite.applicants.approved.features);
    // Valid one by one, impossible together: 18+ years of work and a 30-year-old account at 21.
    await bank.field('age').fill('21');
    await bank.field('years_employed').selectOption('18+');
    await bank.field('account_age').fill('360');
    await bank.submit();

    const summary = bank.widget.locator('[part~="form-error"]');
    await summary.waitFor({ state: 'visible' });
    await bank.screenshot('implausible-input');
    expect(await summary.innerText()).toContain(en.formInvalid.replace('{count}', '2'));
    expect(await bank.fieldBox('years_employed').innerText()).toContain(
      en.plausibleYearsEmployed.replace('{age}', '21').replace('{years}', '5'),
    );
    expect(await bank.fieldBox('account_age').innerText()).toContain(
      en.plausibleAccountAge.replace('{months}', '252').replace('{age}', '21'),
    );
    expect(await bank.field('years_employed').getAttribute('aria-invalid')).toBe('true');
    expect(await bank.field('age').getAttribute('aria-invalid')).not.toBe('true');

    // No answer of the applicant's was sent and no run started (the session and keys prepared
    // meanwhile carry none; demo mode may send the bank's and the bureau's panels ahead once they
    // are valid and plausible: the bank's own data, as its backend would send it).
    await bank.field('age').fill('45');
    await summary.waitFor({ state: 'detached' });
    expect(bank.requestsSince(0).filter((r) => APPLICANT_ANSWERS_OR_RUN.test(r))).toEqual([]);
    await bank.close();
  });

  it('invalid answers: the form names each problem and nothing is sent', async () => {
    const bank = await BankPage.open(suite.context, suite.env.stack, suite.model);
    await bank.fill(suite.applicants.approved.features);
    await bank.field('age').fill('12');
    await bank.field('total_income').fill('');
    await bank.submit();

    const summary = bank.widget.locator('[part~="form-error"]');
    await summary.waitFor({ state: 'visible' });
    await bank.screenshot('invalid-input');
    expect(await summary.innerText()).toContain(en.formInvalid.replace('{count}', '2'));
    expect(await bank.fieldBox('age').innerText()).toContain(en.fieldMin.replace('{min}', String(minimumOf(suite.model, 'age'))));
    expect(await bank.fieldBox('total_income').innerText()).toContain(en.fieldRequired);
    expect(await bank.field('age').getAttribute('aria-invalid')).toBe('true');
    // Focus goes to the first field to fix, in the form's order.
    const first = suite.model.manifest.features.find((f) => f.name === 'age' || f.name === 'total_income')!.name;
    expect(await bank.field(first).evaluate((el) => (el.getRootNode() as ShadowRoot).activeElement === el)).toBe(true);

    // Fixing the answers clears the messages; no answer of the applicant's was ever sent and no
    // run started (the session and the keys, prepared while the form was filled, carry none; the
    // bank's and the bureau's panels may go ahead in demo mode, as above).
    await bank.field('age').fill(String(suite.applicants.approved.features.age));
    await bank.field('total_income').fill(String(suite.applicants.approved.features.total_income));
    await summary.waitFor({ state: 'detached' });
    expect(bank.requestsSince(0).filter((r) => APPLICANT_ANSWERS_OR_RUN.test(r))).toEqual([]);
    await bank.close();
  });

  describe('applicant mode: the bank\u2019s and the bureau\u2019s records come from their servers', () => {
    const PARTY_UPLOAD = /\/inputs\/(bank|bureau)$/;
    /** A record's value as JSON, the way the backend once sent them to the page. */
    const RECORD_VALUE = /"(account_age|years_employed|employed)"\s*:/;
    let records: CustomerRecords[];
    beforeAll(() => {
      records = loadRecords();
    });

    const customer = (reference: string) => records.find((r) => r.reference === reference)!;

    /** Opens the applicant page as `applicant.customer`, fills the applicant's own answers and submits. */
    async function submitAsCustomer(applicant: CustomerApplicant, byHand: boolean): Promise<{ bank: BankPage; traffic: PageTraffic }> {
      const bank = await BankPage.open(suite.context, suite.env.stack, suite.model, '/applicant.html');
      const traffic = recordTraffic(bank.page, suite.env.stack.gatewayUrl);
      const picker = bank.page.locator('#customer');
      await expect.poll(() => picker.isEnabled()).toBe(true);
      await picker.selectOption(applicant.customer);
      // The page says in words who the customer is, never a record's value.
      const { name, profile } = customer(applicant.customer);
      await expect.poll(() => bank.page.locator('#customer-record').innerText()).toContain(`${name} is ${profile}.`);
      if (byHand) {
        await bank.page.getByText("Send the bank's and the bureau's records yourself").click();
        await bank.page.getByLabel("Don't send them from the demo's server").check();
      }
      await bank.fill(applicant.answers);
      await bank.submit();
      return { bank, traffic };
    }

    /**
     * The page shows the cleartext model's decision; the parties encrypted under the public key
     * the page uploaded; the page never asked for, nor received, a party's upload.
     */
    async function expectPrivateModelDecision(
      bank: BankPage,
      traffic: PageTraffic,
      applicant: CustomerApplicant,
      parties: { sha256: string; publicKeySha256: string }[],
    ): Promise<void> {
      const outcome = await bank.waitForOutcome();
      const shown = await bank.shownText();
      await bank.screenshot(`applicant-${applicant.outcome.kind}`);
      expect(outcome, shown).toBe('result');
      const expected = expectedTexts(applicant.outcome);
      expect(shown).toContain(expected.title);
      for (const line of expected.lines) expect(shown).toContain(line);

      const sent = bank.requestsSince(0);
      const publicKeyPuts = [...traffic.uploads].filter(([key]) => /^PUT \/v1\/sessions\/[^/]+\/public-key$/.test(key));
      expect(publicKeyPuts.flatMap(([, hashes]) => hashes)).toHaveLength(1);
      const pagePublicKey = publicKeyPuts[0]![1][0]!;
      expect(parties).toHaveLength(2);
      for (const party of parties) expect(party.publicKeySha256).toBe(pagePublicKey);
      expect(sent.filter((r) => /^PUT \/v1\/sessions\/[^/]+\/inputs\/applicant$/.test(r))).toHaveLength(1);
      expect(sent.filter((r) => PARTY_UPLOAD.test(r))).toEqual([]);

      // Every body the page read, the encrypted result's included, before the page goes.
      await traffic.settle();
      await bank.close();
      // The page decrypted a result it never asked for: it came in the progress stream, before `done`.
      expect(traffic.responses.filter((r) => /\/v1\/sessions\/[^/]+\/result(\?|$)/.test(r.url))).toHaveLength(0);
      const received = new Set(traffic.responses.flatMap((r) => objectHashes(r.body)));
      for (const party of parties) expect(received.has(party.sha256)).toBe(false);
      for (const r of traffic.responses) expect(r.body, r.url).not.toContain('compact-list');
      // Nor any of the bank's or the bureau's values, from its own server either.
      const fromBackend = traffic.responses.filter((r) => r.url.startsWith('/api/'));
      expect(fromBackend.length).toBeGreaterThan(0);
      for (const r of fromBackend) expect(r.body, r.url).not.toMatch(RECORD_VALUE);
      expect(bank.cspReports).toEqual([]);
    }

    it('the bank backend sends both records with the party SDK; the page decrypts the model\u2019s decision', async () => {
      const applicant = pickCustomerApplicant(suite.model, customer('LB-31852'), 'suggest');
      const { bank, traffic } = await submitAsCustomer(applicant, false);
      const status = bank.page.locator('#party-status-text');
      await expect.poll(() => status.innerText(), { timeout: 120_000 }).toContain('Both servers sent their records');
      const receipt = PartyInputsResponse.parse(JSON.parse(await traffic.bodyOf(/\/party-inputs$/)));
      expect(receipt.customer).toBe(applicant.customer);
      // A receipt names the inputs, never their values.
      expect(JSON.stringify(receipt)).not.toMatch(/"(account_age|years_employed|employed)":/);
      expect(await bank.waitForOutcome()).toBe('result');
      expect(await accessibilityViolations(bank.page)).toEqual([]);
      await expectPrivateModelDecision(bank, traffic, applicant, receipt.parties);
    });

    it('by hand: the npm run party commands the page prints send the records; the page decrypts the model\u2019s decision', async () => {
      const applicant = pickCustomerApplicant(suite.model, customer('LB-40093'), 'approved');
      const { bank, traffic } = await submitAsCustomer(applicant, true);
      const printed = bank.page.locator('#party-commands');
      await printed.waitFor({ state: 'visible', timeout: 120_000 });
      const commands = (await printed.innerText()).split(/\n\s*\n/).map((c) => c.trim());
      expect(commands).toHaveLength(2);
      for (const command of commands) {
        expect(command).toMatch(/^npm run party -- /);
        expect(command).toContain('--party-key-file');
        expect(command).not.toMatch(/sk_[A-Za-z0-9_]{16,}/);
        // The values come from a file only the owner can read, not from the command line.
        expect(command).not.toMatch(/--features\s/);
        expect(command).not.toMatch(RECORD_VALUE);
        const file = /--features-file[= ](\S+)/.exec(command)?.[1];
        expect(file, command).toBeDefined();
        const path = resolve(ROOT, file!);
        expect(statSync(path).mode & 0o777).toBe(0o600);
        const party = /--party[= ](bank|bureau)/.exec(command)![1] as 'bank' | 'bureau';
        expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual(customer(applicant.customer)[party]);
      }
      const runs = await Promise.all(commands.map(runCommand));
      for (const run of runs) expect(run.code, run.stderr).toBe(0);
      expect(runs.map((r) => r.report!.party).sort()).toEqual(['bank', 'bureau']);
      const parties = runs.map((r) => ({ sha256: r.report!.accepted.sha256, publicKeySha256: r.report!.publicKeySha256 }));
      await bank.waitForOutcome();
      expect(await bank.page.locator('#party-status-text').innerText()).toContain('The records your commands sent were used');
      await expectPrivateModelDecision(bank, traffic, applicant, parties);
      // The demo's backend sent nothing for this session.
      expect(traffic.responses.filter((r) => r.url.endsWith('/party-inputs'))).toEqual([]);
    });

    it('the bank backend answers bad requests with a status and { code, message }', async () => {
      const api = (path: string, init?: RequestInit) => fetch(new URL(path, suite.env.stack.url), init);
      const post = (session: string, body: string, type = 'application/json') =>
        api(`/api/sessions/${session}/party-inputs`, { method: 'POST', headers: { 'content-type': type }, body });
      const commands = (session: string, body: string, type = 'application/json') =>
        api(`/api/sessions/${session}/party-commands`, { method: 'POST', headers: { 'content-type': type }, body });
      const unknownSession = 'A'.repeat(22);
      const cases: [Promise<Response>, number, string][] = [
        [post('not-a-session', '{"customer":"LB-20417"}'), 400, 'invalid_request'],
        [post(unknownSession, '{"customer":"LB-00000"}'), 404, 'unknown_customer'],
        [post(unknownSession, '{"customer":"LB-20417","account_age":3}'), 400, 'invalid_request'],
        [post(unknownSession, '{"customer":'), 400, 'invalid_json'],
        [post(unknownSession, 'customer=LB-20417', 'application/x-www-form-urlencoded'), 415, 'unsupported_media_type'],
        [post(unknownSession, JSON.stringify({ customer: 'x'.repeat(4096) })), 413, 'body_too_large'],
        [post(unknownSession, '{"customer":"LB-20417"}'), 502, 'party_upload_failed'],
        [commands('not-a-session', '{"customer":"LB-20417"}'), 400, 'invalid_request'],
        [commands(unknownSession, '{"customer":"LB-1"}'), 400, 'invalid_request'],
        [commands(unknownSession, '{"customer":"LB-00000"}'), 404, 'unknown_customer'],
        [commands(unknownSession, 'customer=LB-20417', 'application/x-www-form-urlencoded'), 415, 'unsupported_media_type'],
        [api(`/api/sessions/${unknownSession}/party-commands?customer=LB-20417`), 404, 'not_found'],
        [api('/api/nothing-here'), 404, 'not_found'],
      ];
      for (const [pending, status, code] of cases) {
        const res = await pending;
        const body = (await res.json()) as { code: string; message: string };
        expect({ status: res.status, code: body.code }, body.message).toEqual({ status, code });
        expect(body.message.length).toBeGreaterThan(0);
      }
      // The picker's list: references, names and profiles in words, never a record's value.
      const listedBody = await (await api('/api/customers')).text();
      expect(listedBody).not.toMatch(RECORD_VALUE);
      const listed = CustomersResponse.parse(JSON.parse(listedBody));
      expect(listed.customers).toEqual(records.map(({ reference, name, profile }) => ({ reference, name, profile })));
    });
  });
});

function minimumOf(model: Model, name: 'age'): number {
  const feature = model.manifest.features.find((f) => f.name === name);
  if (!feature || feature.kind === 'boolean' || feature.kind === 'category') throw new Error(`${name} is not numeric`);
  return feature.min;
}
