/**
 * End to end on the `npm start` stack in Chromium: the element prepares while the applicant types
 * (keys, session, the key's resumable upload) so the click only encrypts and runs; one session
 * serves two checks, each with the cleartext model's decision; a gateway restarted mid-upload
 * costs at most one part again; cancel during preparation deletes the session; the data saver
 * defers everything to the click.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { partyKeyFiles } from '../../demo/gateway-config.ts';
import { PublicHeaders, publicPath } from '../../protocol/public-api.ts';
import { en } from '../../widget/src/translations/en.ts';
import { expectedTexts, type Applicant } from './support/applicants.ts';
import { BankPage } from './support/bank-page.ts';
import { openDemoSuite, type DemoSuite } from './support/suite.ts';

const PART = /^PUT \/v1\/sessions\/[^/]+\/server-key\/uploads\/[^/]+\/parts\/(\d+)$/;
/** Any upload of a key, or a new session. */
const KEY_OR_SESSION =
  /^(POST \/v1\/sessions|PUT \/v1\/sessions\/[^/]+\/(server-key|public-key)|.* \/v1\/sessions\/[^/]+\/server-key\/uploads.*)$/;

/** Records the element's `blind-score:prepared` stages and session ids in the page. */
const RECORDER = () => {
  const w = window as unknown as { __prepared: string[]; __sessions: string[]; __deferred: number };
  w.__prepared = [];
  w.__sessions = [];
  w.__deferred = 0;
  document.addEventListener('blind-score:prepared', (e) => w.__prepared.push((e as CustomEvent<{ stage: string }>).detail.stage));
  document.addEventListener('blind-score:session', (e) => w.__sessions.push((e as CustomEvent<{ sessionId: string }>).detail.sessionId));
  document.addEventListener('blind-score:progress', (e) => {
    if ((e as CustomEvent<{ deferred?: string }>).detail.deferred === 'save-data') w.__deferred++;
  });
};

describe('preparing ahead of the click, end to end', () => {
  let suite: DemoSuite;
  beforeAll(async () => {
    suite = await openDemoSuite(RECORDER);
  });
  beforeEach(async () => {
    if (suite && !suite.env.stack.gateway.running) await suite.env.stack.gateway.start();
  });
  afterAll(() => suite?.close());

  const waitForPrepared = (bank: BankPage, stage: string, timeout = 240_000) =>
    bank.page.waitForFunction((s) => (window as unknown as { __prepared: string[] }).__prepared.includes(s), stage, {
      timeout,
      polling: 100,
    });
  const sessionsOf = (bank: BankPage) => bank.page.evaluate(() => (window as unknown as { __sessions: string[] }).__sessions);

  async function expectDecisionOf(bank: BankPage, applicant: Applicant, timeoutMs?: number): Promise<void> {
    const outcome = await bank.waitForOutcome(timeoutMs);
    const shown = await bank.shownText();
    expect(outcome, shown).toBe('result');
    const expected = expectedTexts(applicant.outcome);
    expect(shown).toContain(expected.title);
    for (const line of expected.lines) expect(shown).toContain(line);
  }

  /** The session's status as a party backend sees it (the demo bank's own party key). */
  async function statusAsBank(sessionId: string): Promise<{ status: number; code?: string }> {
    const key = readFileSync(partyKeyFiles(join(suite.env.stack.options.runDir, 'party-keys')).bank, 'utf8').trim();
    const response = await fetch(`${suite.env.stack.gatewayUrl}${publicPath.session(sessionId)}`, {
      headers: { [PublicHeaders.partyKey]: key },
    });
    const body = (await response.json()) as { code?: string };
    return { status: response.status, ...(body.code ? { code: body.code } : {}) };
  }

  it('uploads the key before the click; the check uploads no key; a second check on the same session gets its own decision', async () => {
    const bank = await BankPage.open(suite.context, suite.env.stack, suite.model);
    const first = suite.applicants.approved;
    await bank.fill(first.features);
    await waitForPrepared(bank, 'serverKey');
    const clickedAt = Date.now();
    const before = bank.gatewayRequests.filter((r) => r.at < clickedAt).map((r) => `${r.method} ${r.path}`);
    expect(before.filter((r) => PART.test(r))).toHaveLength(6);
    await bank.submit();
    await expectDecisionOf(bank, first);
    const afterClick = bank.requestsSince(clickedAt);
    expect(afterClick.filter((r) => KEY_OR_SESSION.test(r))).toEqual([]);
    expect(afterClick.some((r) => /\/run$/.test(r))).toBe(true);

    // Change the answers (to an applicant the model denies) and check again on the same session.
    const second = suite.applicants.suggest;
    const changedAt = Date.now();
    await bank.widget.getByRole('button', { name: en.changeAnswers }).click();
    await bank.fill(second.features);
    await bank.submit();
    await expectDecisionOf(bank, second);
    expect(bank.requestsSince(changedAt).filter((r) => KEY_OR_SESSION.test(r))).toEqual([]);
    expect(await sessionsOf(bank)).toHaveLength(1);

    // Cancelled while the evaluator runs, then checked again: the same session serves the next
    // check, nothing is deleted, and nothing is refused (Chromium would log a 4xx as an error).
    const consoleErrors: string[] = [];
    bank.page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
    const refused: string[] = [];
    bank.page.on('response', (r) => r.status() >= 400 && refused.push(`${r.status()} ${r.request().method()} ${r.url()}`));
    // Cancelled as the run starts, at the page's own first `running` report (before `POST …/run`:
    // the worker was encrypting a moment ago) and at the next, from the run's progress stream (the
    // evaluator is running), each time in the page so the moment is exact; then checked again.
    for (const [nth, answers] of [
      [1, first],
      [2, second],
    ] as const) {
      await bank.widget.getByRole('button', { name: en.changeAnswers }).click();
      await bank.fill(answers.features);
      await bank.widget.evaluate((el, cancelAt) => {
        let running = 0;
        const cancelWhenRunning = (e: Event) => {
          const detail = (e as CustomEvent<{ phase: string; stage: string }>).detail;
          if (detail.phase !== 'check' || detail.stage !== 'running' || ++running < cancelAt) return;
          el.removeEventListener('blind-score:progress', cancelWhenRunning);
          (el as HTMLElement & { cancel(): void }).cancel();
        };
        el.addEventListener('blind-score:progress', cancelWhenRunning);
      }, nth);
      const cancelledAt = Date.now();
      await bank.submit();
      await bank.widget.locator('[part~="form"]').waitFor({ state: 'visible', timeout: 120_000 });
      await bank.submit();
      await expectDecisionOf(bank, answers);
      const since = bank.requestsSince(cancelledAt);
      expect(since.filter((r) => r.startsWith('DELETE') || KEY_OR_SESSION.test(r))).toEqual([]);
      expect(since.filter((r) => /\/run$/.test(r)).length).toBeGreaterThanOrEqual(nth);
    }
    expect(refused).toEqual([]);
    expect(consoleErrors).toEqual([]);
    expect(await sessionsOf(bank)).toHaveLength(1);
    await bank.close();
  });

  it('a gateway restarted mid-upload: the upload resumes and sends at most one part again', async () => {
    const stack = suite.env.stack;
    const bank = await BankPage.open(suite.context, stack, suite.model);
    const partTwo = bank.page.waitForRequest((r) => /\/parts\/2$/.test(r.url()), { timeout: 240_000 });
    await bank.fill({ age: suite.applicants.approved.features.age });
    await partTwo;
    await stack.gateway.kill();
    await stack.gateway.start();
    await waitForPrepared(bank, 'serverKey');
    const parts = bank.gatewayRequests.map((r) => PART.exec(`${r.method} ${r.path}`)?.[1]).filter((n): n is string => n !== undefined);
    const counts = new Map<string, number>();
    for (const n of parts) counts.set(n, (counts.get(n) ?? 0) + 1);
    expect([...counts.keys()].sort()).toEqual(['1', '2', '3', '4', '5', '6']);
    // Attempts at the dead gateway count too: still only one part number was ever sent twice or more.
    expect([...counts.values()].filter((c) => c > 1).length).toBeLessThanOrEqual(1);
    await bank.fill(suite.applicants.approved.features);
    await bank.submit();
    await expectDecisionOf(bank, suite.applicants.approved);
    await bank.close();
  });

  it('cancel during preparation deletes the session', async () => {
    const bank = await BankPage.open(suite.context, suite.env.stack, suite.model);
    await bank.fill({ age: 40 });
    await waitForPrepared(bank, 'session');
    const [sessionId] = await sessionsOf(bank);
    await bank.widget.evaluate((el) => (el as HTMLElement & { cancel(): void }).cancel());
    await expect.poll(() => statusAsBank(sessionId!), { timeout: 30_000, interval: 200 }).toEqual({ status: 410, code: 'session_deleted' });
    await bank.close();
  });

  it('with the data saver on, nothing is prepared before the click, and the progress view says why', async () => {
    const saver = await suite.browser.newContext({ viewport: { width: 1280, height: 1000 } });
    try {
      await saver.addInitScript(RECORDER);
      await saver.addInitScript(() => {
        Object.defineProperty(navigator, 'connection', { value: Object.assign(new EventTarget(), { saveData: true }), configurable: true });
      });
      const bank = await BankPage.open(saver, suite.env.stack, suite.model);
      await bank.fill(suite.applicants.approved.features);
      await bank.page.waitForFunction(() => (window as unknown as { __deferred: number }).__deferred > 0);
      expect(bank.gatewayRequests.filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.path}`)).toEqual([]);
      await bank.submit();
      await bank.widget.locator('[part~="progress-note"]').waitFor({ state: 'visible' });
      expect(await bank.widget.locator('[part~="progress-note"]').innerText()).toContain('Data saver is on');
      // Key generation, the 30 MB upload and the check all after the click, in a fresh profile.
      await expectDecisionOf(bank, suite.applicants.approved, 480_000);
    } finally {
      await saver.close();
    }
  }, 600_000);
});
