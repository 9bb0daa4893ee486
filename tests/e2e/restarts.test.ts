/**
 * End to end, with failures: the gateway killed and restarted while a check is under way, and the
 * evaluator killed in the middle of a run and started again. The person sees a clear error with
 * a way to try again, and trying again gives the model's decision.
 */
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Model } from '../../model/private-model.ts';
import { en } from '../../widget/src/translations/en.ts';
import { expectedTexts, loadDemoModel, pickApplicants, type Applicant } from './support/applicants.ts';
import { BankPage } from './support/bank-page.ts';
import { launchChromium } from './support/browser.ts';
import { startTestStack, type TestStack } from './support/stack.ts';
import type { DemoStack } from '../../demo/stack.ts';

/** The server key's parts (the resumable upload). */
const SERVER_KEY_PART = /^PUT \/v1\/sessions\/[^/]+\/server-key\/uploads\/[^/]+\/parts\/\d+$/;
/** Everything a check sends once: a session, the keys, the parties' encrypted answers. */
const UPLOAD =
  /^(POST \/v1\/sessions|PUT \/v1\/sessions\/[^/]+\/(server-key|public-key|inputs\/[a-z]+)|[A-Z]+ \/v1\/sessions\/[^/]+\/server-key\/uploads.*)$/;
const RUN = /^POST \/v1\/sessions\/[^/]+\/run$/;

describe('the demo bank page when a service restarts', () => {
  let env: TestStack | undefined;
  let browser: Browser | undefined;
  let context: BrowserContext;
  let model: Model;
  let applicant: Applicant;

  beforeAll(async () => {
    model = await loadDemoModel();
    applicant = pickApplicants(model).suggest;
    [env, browser] = await Promise.all([startTestStack(), launchChromium()]);
    context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
  });

  // A case that failed half-way must not leave the next one without a service.
  beforeEach(async () => {
    for (const service of [env!.stack.evaluator, env!.stack.gateway]) if (!service.running) await service.start();
  });

  afterAll(async () => {
    await browser?.close();
    await env?.dispose();
  });

  async function expectDecision(bank: BankPage): Promise<void> {
    const outcome = await bank.waitForOutcome();
    const shown = await bank.shownText();
    expect(outcome, shown).toBe('result');
    const expected = expectedTexts(applicant.outcome);
    expect(shown).toContain(expected.title);
    for (const line of expected.lines) expect(shown).toContain(line);
  }

  /** The error view with its title and `message`, and a way to try again. */
  async function expectError(bank: BankPage, message: string, screenshot: string): Promise<void> {
    expect(await bank.waitForOutcome()).toBe('error');
    await bank.screenshot(screenshot);
    const shown = await bank.shownText();
    expect(shown).toContain(en.errorTitle);
    expect(shown).toContain(message);
  }

  /** "Try again" re-runs the same session, uploads nothing again, and shows the model's decision. */
  async function retryGivesDecision(bank: BankPage, screenshot: string): Promise<void> {
    const retriedAt = Date.now();
    await bank.widget.getByRole('button', { name: en.retry }).click();
    await expectDecision(bank);
    await bank.screenshot(screenshot);
    const sinceRetry = bank.requestsSince(retriedAt);
    expect(sinceRetry.filter((r) => RUN.test(r))).toHaveLength(1);
    expect(sinceRetry.filter((r) => UPLOAD.test(r))).toEqual([]);
  }

  /**
   * Opens the page, fills the form and submits; resolves once the evaluator has started the run
   * (its access log of the 202 to `POST …/run`: the browser's request events can reach the test
   * seconds late on a busy machine).
   */
  async function submitUntilRunStarts(stack: DemoStack): Promise<BankPage> {
    const bank = await BankPage.open(context, stack, model);
    await bank.fill(applicant.features);
    const runAccepted = stack.evaluator.waitForOutput(isRunAccepted, 180_000);
    await bank.submit();
    await runAccepted;
    return bank;
  }

  it('gateway restarted mid-session: a clear error, and "Try again" gives the decision', async () => {
    const stack = env!.stack;
    const bank = await submitUntilRunStarts(stack);
    const gatewayPid = stack.gateway.pid;
    // Killed outright (a graceful stop could let the run finish and the result be served first),
    // with the evaluator held still meanwhile so the run cannot win that race either.
    stack.evaluator.pause();
    try {
      await stack.gateway.kill();
    } finally {
      stack.evaluator.resume();
    }

    await expectError(bank, en.errorNetwork, 'restart-gateway-error');

    // Same port, same persisted Durable Objects and R2.
    await stack.gateway.start();
    expect(stack.gateway.pid).not.toBe(gatewayPid);
    await retryGivesDecision(bank, 'restart-gateway-retried');
    await bank.close();
  });

  it('evaluator killed mid-run: a clear retriable error, and "Try again" gives the decision', async () => {
    const stack = env!.stack;
    const bank = await submitUntilRunStarts(stack);
    await stack.evaluator.kill();

    await expectError(bank, en.errorBusy, 'restart-evaluator-error');
    const uploadsBefore = bank.gatewayRequests.map((r) => `${r.method} ${r.path}`).filter((r) => SERVER_KEY_PART.test(r));
    expect(uploadsBefore).toHaveLength(6);

    await stack.evaluator.start();
    await retryGivesDecision(bank, 'restart-evaluator-retried');
    await bank.close();
  });
});

/** The evaluator's access-log record of `POST /v1/sessions/:id/run` answered 202 (enqueued, and with an idle queue, started). */
function isRunAccepted(line: string): boolean {
  try {
    const record = JSON.parse(line) as { msg?: string; method?: string; route?: string; status?: number };
    return record.msg === 'request' && record.method === 'POST' && /\/run$/.test(record.route ?? '') && record.status === 202;
  } catch {
    return false;
  }
}
