/// <reference types="mocha" />
/**
 * A normal check, a cancel during the run, a re-check and leaving the page, against the real
 * gateway and evaluator, with nothing going wrong on the way: no console error or warning, no
 * uncaught error or rejection, no request the gateway answered with an error (Chromium logs those
 * as console errors), and one DELETE of the session.
 */
import { expect, waitUntil } from '@open-wc/testing';
import { offerNextStep } from '../../demo/site/next-step.ts';
import { part, seedCachedKeys, submitAndWait } from './support/element.ts';
import { applicants, fill, mountReal, watchGateway } from './support/real-gateway.ts';

interface Trouble {
  kind: string;
  text: string;
}

/** Everything that would show as an error in the console, from now on. */
function watchConsole(): { trouble: Trouble[]; stop: () => void } {
  const trouble: Trouble[] = [];
  const original = { error: console.error, warn: console.warn };
  console.error = (...args: unknown[]) => trouble.push({ kind: 'console.error', text: args.map(String).join(' ') });
  console.warn = (...args: unknown[]) => {
    const text = args.map(String).join(' ');
    // Lit's own notice about its development build is expected in this suite.
    if (!text.includes('Lit is in dev mode')) trouble.push({ kind: 'console.warn', text });
  };
  const onError = (e: ErrorEvent) => trouble.push({ kind: 'error', text: e.message });
  const onRejection = (e: PromiseRejectionEvent) => trouble.push({ kind: 'unhandledrejection', text: String(e.reason) });
  const failedRequests = new PerformanceObserver((list) => {
    for (const entry of list.getEntries() as (PerformanceResourceTiming & { responseStatus?: number })[]) {
      if ((entry.responseStatus ?? 0) >= 400) trouble.push({ kind: `HTTP ${entry.responseStatus}`, text: entry.name });
    }
  });
  failedRequests.observe({ type: 'resource' });
  window.addEventListener('error', onError);
  window.addEventListener('unhandledrejection', onRejection);
  return {
    trouble,
    stop: () => {
      Object.assign(console, original);
      failedRequests.disconnect();
      window.removeEventListener('error', onError);
      window.removeEventListener('unhandledrejection', onRejection);
    },
  };
}

describe('console', () => {
  let cleanup: () => Promise<void>;
  before(async () => {
    cleanup = await seedCachedKeys();
  });
  after(() => cleanup());

  it('stays clean through a check, a cancel, a re-check and leaving the page; the session is deleted once', async () => {
    const cases = await applicants();
    const gateway = await watchGateway();
    const watch = watchConsole();
    let sessionId = '';
    try {
      const el = await mountReal();
      el.addEventListener('blind-score:session', (e) => (sessionId = e.detail.sessionId));
      // The demo bank's "Start my application" box beside the result.
      const nextStep = document.createElement('div');
      nextStep.hidden = true;
      document.body.append(nextStep);
      offerNextStep(el, nextStep);
      await fill(el, cases.approved.features);
      expect((await submitAndWait(el, 'blind-score:decision')).detail.approved).to.equal(true);
      expect(nextStep.hidden).to.equal(false);

      // Change the answers (the box goes with the result), start the check and cancel it while it runs.
      const formBack = new Promise<CustomEvent<{ answersKept: boolean }>>((resolve) =>
        el.addEventListener('blind-score:form', (e) => resolve(e), { once: true }),
      );
      part<HTMLButtonElement>(el, 'change')!.click();
      await el.updateComplete;
      expect((await formBack).detail.answersKept).to.equal(true);
      expect(nextStep.hidden).to.equal(true);
      nextStep.remove();
      await fill(el, cases.suggest.features);
      const running = new Promise<void>((resolve) =>
        el.addEventListener('blind-score:progress', (e) => e.detail.stage === 'running' && resolve()),
      );
      part<HTMLButtonElement>(el, 'submit')!.click();
      await running;
      part<HTMLButtonElement>(el, 'cancel')!.click();
      await el.updateComplete;
      expect(part(el, 'form')).to.exist;

      // Check again: the same session serves it, with the model's answer for these answers.
      expect((await submitAndWait(el, 'blind-score:decision')).detail.approved).to.equal(false);

      // Leaving the page deletes the session, once, however often the page says so.
      window.dispatchEvent(new PageTransitionEvent('pagehide'));
      window.dispatchEvent(new PageTransitionEvent('pagehide'));
      el.remove();
      await waitUntil(() => gateway.requests.some((r) => r.method === 'DELETE'), 'the page deletes its session', { timeout: 30_000 });
    } finally {
      watch.stop();
      gateway.stop();
    }
    expect(watch.trouble).to.deep.equal([]);
    expect(gateway.requests.filter((r) => r.status >= 400)).to.deep.equal([]);
    expect(gateway.requests.filter((r) => r.method === 'DELETE')).to.deep.equal([
      { method: 'DELETE', path: `/v1/sessions/${sessionId}`, status: 204 },
    ]);
    // Gone at the gateway (asked after the console watch: the answer is a 410).
    const after = await gateway.sessionStatus(sessionId);
    expect(after).to.deep.include({ status: 410 });
    expect(after.body.code).to.equal('session_deleted');
  });
});
