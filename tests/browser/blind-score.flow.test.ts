/// <reference types="mocha" />
/**
 * `<blind-score>` against the scripted test gateway (real HTTP and SSE in the runner's server;
 * see server/test-gateway.ts), for what the real stack cannot produce on demand: result shapes
 * (an approval range, approval from 0 years, explanation bins out of order), applicant mode's
 * bank and bureau backends, a run held still or a stream dropped, and the gateway's failures
 * with retry. The happy paths run against the real gateway (blind-score.real-gateway.test.ts).
 */
import { expect, fixture, html, oneEvent, waitUntil } from '@open-wc/testing';
import type { BlindScore } from '../../widget/src/blind-score.ts';
import type { BlindScoreErrorDetail, BlindScoreProgressDetail } from '../../widget/src/events.ts';
import { loadManifest } from './support/fixtures.ts';
import { answer, audit, focused, GATEWAY_URL, mount, part, parts, seedCachedKeys, snap, submitAndWait } from './support/element.ts';

/** The key uploads (the public key, the server key's parts) the page makes from now on, per resource timing. */
function recordKeyUploads(): { uploads: PerformanceResourceTiming[]; stop: () => void } {
  const uploads: PerformanceResourceTiming[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries() as PerformanceResourceTiming[]) {
      if (/\/(public-key|server-key\/uploads\/[^/]+\/parts\/\d+)$/.test(e.name)) uploads.push(e);
    }
  });
  observer.observe({ type: 'resource' });
  return { uploads, stop: () => observer.disconnect() };
}

function recordProgress(el: BlindScore): BlindScoreProgressDetail[] {
  const seen: BlindScoreProgressDetail[] = [];
  el.addEventListener('blind-score:progress', (e) => seen.push(e.detail));
  return seen;
}

describe('flow: cached keys', () => {
  let cleanup: () => Promise<void>;
  before(async () => {
    cleanup = await seedCachedKeys();
  });
  after(() => cleanup());

  it('says "at least" only when every longer bin approves: otherwise the range that does (en, fr)', async () => {
    const el = await mount('pk_test_range');
    await answer(el, 'own_car', false);
    await answer(el, 'own_property', true);
    const { detail } = await submitAndWait(el, 'blind-score:decision');
    expect(detail.explanation).to.include({
      minYearsEmployedBin: '5-8',
      minYearsEmployed: 5,
      untilYearsEmployedBin: '11-18',
      untilYearsEmployed: 11,
    });
    expect(part(el, 'explain')!.textContent!.trim()).to.equal('With 5 to 11 years of employment you would likely be approved.');
    await snap('demo-denied-range', el);
    el.locale = 'fr';
    await waitUntil(() => part(el, 'explain')?.textContent?.trim().startsWith('Avec'), 'the French explanation', { timeout: 10_000 });
    expect(part(el, 'explain')!.textContent!.trim()).to.equal(
      'Avec 5 à 11 ans d’ancienneté dans l’emploi, elle vous serait probablement accordée.',
    );
  });

  it('tells an applicant whose bits show they are not employed that employment would do (applicant mode)', async () => {
    const el = await mount('pk_test_from_zero', { mode: 'applicant' });
    await answer(el, 'own_car', false);
    await answer(el, 'own_property', true);
    await answer(el, 'total_income', '30000');
    await answer(el, 'age', '40');
    const { detail } = await submitAndWait(el, 'blind-score:decision');
    expect(detail.explanation).to.include({ minYearsEmployedBin: '0-2', minYearsEmployed: 0, untilYearsEmployed: null });
    expect(part(el, 'explain')!.textContent!.trim()).to.equal('If you were employed, you would likely be approved.');
  });

  it('refuses a result whose explanation bins are not the manifest’s, in order', async () => {
    const el = await mount('pk_test_shifted_bins');
    await answer(el, 'own_car', false);
    await answer(el, 'own_property', true);
    const decided = oneEvent(el, 'blind-score:decision').then(() => 'decision');
    const failed = oneEvent(el, 'blind-score:error').then((e) => e.detail.code);
    part<HTMLButtonElement>(el, 'submit')!.click();
    expect(await Promise.race([decided, failed])).to.equal('bad_response');
    await el.updateComplete;
    expect(part(el, 'explain')).to.equal(null);
    expect(part(el, 'error-code')!.textContent).to.contain('bad_response');
  });

  it('renders the host’s approved, denied and explain slots', async () => {
    const el = await fixture<BlindScore>(html`<blind-score mode="demo" cache-keys gateway-url=${GATEWAY_URL} publishable-key="pk_test_demo">
      <div slot="denied">Not this time.</div>
      <div slot="explain">Talk to an adviser.</div>
    </blind-score>`);
    await waitUntil(() => part(el, 'form'), 'the form renders', { timeout: 20_000 });
    await answer(el, 'own_car', false);
    await submitAndWait(el, 'blind-score:decision');
    const assigned = (name: string) =>
      el
        .shadowRoot!.querySelector<HTMLSlotElement>(`slot[name="${name}"]`)!
        .assignedNodes()
        .map((n) => n.textContent);
    expect(assigned('denied')).to.deep.equal(['Not this time.']);
    expect(assigned('explain')).to.deep.equal(['Talk to an adviser.']);
    // The live region announces what is shown: the host's content, not the default text.
    const status = el.shadowRoot!.querySelector('[role="status"]')!.textContent!;
    expect(status).to.contain('Not this time.').and.to.contain('Talk to an adviser.');
    expect(status).not.to.contain('Likely not approved');
  });

  it('applicant mode: waits for the bank’s and bureau’s backends, then runs', async () => {
    const el = await mount('pk_test_applicant', { mode: 'applicant' });
    await answer(el, 'total_income', '52000');
    await answer(el, 'age', '41');
    await answer(el, 'own_car', true);
    const session = oneEvent(el, 'blind-score:session');
    const progress = recordProgress(el);
    const decision = submitAndWait(el, 'blind-score:decision');
    const { detail: s } = await session;
    expect(s.sessionId).to.match(/^[A-Za-z0-9_-]{22}$/);
    expect(s.missingParties).to.deep.equal(['applicant', 'bank', 'bureau']);
    expect((await decision).detail.approved).to.equal(true);
    expect(progress.some((p) => p.stage === 'waiting' && p.fraction === null)).to.equal(true);
    // An applicant is not shown a model hash (the decision event carries it for the host).
    expect(part(el, 'model-version')).to.equal(null);
  });

  it('applicant mode: parties that never upload end, after parties-timeout, in a visible retriable error', async () => {
    const el = await mount('pk_test_parties_absent', { mode: 'applicant' });
    el.setAttribute('parties-timeout', '2');
    await answer(el, 'total_income', '52000');
    await answer(el, 'age', '41');
    const waiting = new Promise<void>((resolve) =>
      el.addEventListener('blind-score:progress', (e) => e.detail.stage === 'waiting' && e.detail.fraction === null && resolve()),
    );
    const failed = submitAndWait(el, 'blind-score:error');
    await waiting;
    await el.updateComplete;
    // The wait is visible, says what it waits for and for how long.
    expect(part(el, 'step-active')!.textContent).to.contain('Waiting for the bank and the credit bureau');
    // The key sent is the evaluation key, which reads nothing: the step says so.
    expect(parts(el, 'step-done')[1]!.textContent).to.contain('Sending the evaluation key (it cannot read your answers)');
    expect(part(el, 'progress-note')!.textContent).to.contain('2 seconds');
    await snap('applicant-waiting-for-parties', el);
    const { detail } = await failed;
    expect(detail).to.include({ code: 'parties_timeout', retriable: true });
    expect(part(el, 'error-message')!.textContent).to.contain('did not send their part in time');
    expect(part(el, 'retry')).to.exist;
    await audit(el);
    // "Try again" waits again on the same session, with the answers already sent.
    const again = new Promise<void>((resolve) =>
      el.addEventListener('blind-score:progress', (e) => e.detail.stage === 'waiting' && e.detail.fraction === null && resolve()),
    );
    part<HTMLButtonElement>(el, 'retry')!.click();
    await again;
    el.cancel();
  });

  it('reconnects when the progress stream drops', async () => {
    const el = await mount('pk_test_drop_stream');
    await answer(el, 'own_car', true);
    const { detail } = await submitAndWait(el, 'blind-score:decision');
    expect(detail.approved).to.equal(true);
  });

  it('the test gateway refuses an upload that carries the client key (so passing flows sent none)', async () => {
    const created = await fetch(`${GATEWAY_URL}/v1/sessions`, {
      method: 'POST',
      headers: { 'x-blindscore-key': 'pk_test_demo', 'content-type': 'application/json' },
      body: JSON.stringify({ modelVersion: (await loadManifest()).modelVersion }),
    }).then((r) => r.json() as Promise<{ sessionId: string; token: string }>);
    const clientKey = new Uint8Array(await (await fetch('/oracle/tuniform/client-key')).arrayBuffer());
    const response = await fetch(`${GATEWAY_URL}/v1/sessions/${created.sessionId}/server-key`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${created.token}`, 'content-type': 'application/octet-stream' },
      body: clientKey,
    });
    expect(response.status).to.equal(400);
    expect(((await response.json()) as { code: string }).code).to.equal('secret_key_uploaded');
  });

  it('cancel stops a check and returns to the form', async () => {
    const el = await mount('pk_test_hang');
    const running = new Promise<void>((resolve) =>
      el.addEventListener('blind-score:progress', (e) => e.detail.stage === 'running' && resolve()),
    );
    part<HTMLButtonElement>(el, 'submit')!.click();
    await running;
    await el.updateComplete;
    expect(parts(el, 'step-done').length).to.be.greaterThan(2);
    await waitUntil(() => part(el, 'step-active')?.textContent?.includes('Queued: 1 ahead'), 'the queue position shows', {
      timeout: 10_000,
    });
    await audit(el);
    // This gateway never finishes the run: the running view holds still for its screenshot.
    await snap('demo-running', el);
    part<HTMLButtonElement>(el, 'cancel')!.click();
    await el.updateComplete;
    await el.updateComplete;
    expect(part(el, 'form')).to.exist;
    expect(focused(el)).to.equal(part(el, 'submit'));
    expect(el.shadowRoot!.querySelector('[role="status"]')!.textContent).to.contain('Check cancelled.');
  });
});

describe('flow: the compact public key', () => {
  let cleanup: () => Promise<void>;
  before(async () => {
    cleanup = await seedCachedKeys();
  });
  after(() => cleanup());

  it('applicant mode: uploads the public key before the server key; the backends encrypt under it', async () => {
    const el = await mount('pk_test_applicant', { mode: 'applicant' });
    // The first answer starts the preparation (keys and their uploads): record from here.
    const recorder = recordKeyUploads();
    await answer(el, 'total_income', '52000');
    await answer(el, 'age', '41');
    await answer(el, 'own_car', true);
    try {
      const { detail } = await submitAndWait(el, 'blind-score:decision');
      // The test gateway's stand-in backends ran the party SDK on the uploaded key: a decision
      // means it was a compact public key of the manifest's set.
      expect(detail.approved).to.equal(true);
      await waitUntil(() => recorder.uploads.length >= 7, 'the public key and the six server-key parts are timed', {
        timeout: 10_000,
      });
    } finally {
      recorder.stop();
    }
    const [first, second] = recorder.uploads;
    expect(recorder.uploads).to.have.length(7);
    expect(first!.name).to.match(/\/public-key$/);
    expect(second!.name).to.match(/\/parts\/1$/);
    expect(first!.responseEnd).to.be.at.most(second!.startTime);
  });

  it('a refused public key stops the check before the server key, with an accessible error', async () => {
    const el = await mount('pk_test_public_key_refused');
    const recorder = recordKeyUploads();
    let detail: BlindScoreErrorDetail;
    try {
      ({ detail } = await submitAndWait(el, 'blind-score:error'));
      await waitUntil(() => recorder.uploads.length >= 1, 'the key upload is timed', { timeout: 10_000 });
    } finally {
      recorder.stop();
    }
    expect(detail).to.include({ code: 'body_too_large', retriable: false });
    expect(recorder.uploads.map((u) => u.name.split('/').at(-1))).to.deep.equal(['public-key']);
    expect(part(el, 'error')!.getAttribute('role')).to.equal('alert');
    expect(part(el, 'error-message')!.textContent).to.contain('Something went wrong on our side.');
    expect(part(el, 'error-code')!.textContent).to.contain('body_too_large');
    expect(focused(el)?.id).to.equal('error-title');
    await audit(el);
  });
});

describe('flow: gateway errors', () => {
  let cleanup: () => Promise<void>;
  before(async () => {
    cleanup = await seedCachedKeys();
  });
  after(() => cleanup());

  const cases = [
    { key: 'pk_test_rate_limited', code: 'rate_limited', retriable: true, text: 'The service is busy' },
    { key: 'pk_test_unavailable', code: 'evaluator_unavailable', retriable: true, text: 'The service is busy' },
    { key: 'pk_test_run_failed', code: 'run_failed', retriable: true, text: 'The service is busy' },
    { key: 'pk_test_expired', code: 'session_expired', retriable: false, text: 'This session has ended' },
  ];
  for (const c of cases) {
    it(`${c.code}: shows the error with its code and a retry, and fires blind-score:error`, async () => {
      const el = await mount(c.key);
      const { detail } = await submitAndWait(el, 'blind-score:error');
      expect(detail).to.include({ code: c.code, retriable: c.retriable });
      expect(part(el, 'error')!.getAttribute('role')).to.equal('alert');
      expect(part(el, 'error-message')!.textContent).to.contain(c.text);
      expect(part(el, 'error-code')!.textContent).to.contain(c.code);
      expect(focused(el)?.id).to.equal('error-title');
      await audit(el);
      if (c.code === 'run_failed') await snap('demo-error', el);
      // Retry runs the same answers again (and meets the same failure here).
      const again = oneEvent(el, 'blind-score:error');
      part<HTMLButtonElement>(el, 'retry')!.click();
      expect((await again).detail.code).to.equal(c.code);
      await el.updateComplete;
      part<HTMLButtonElement>(el, 'edit')!.click();
      await el.updateComplete;
      expect(part(el, 'form')).to.exist;
    });
  }

  it('an unknown publishable key fails the manifest with a configuration message', async () => {
    const el = await fixture<BlindScore>(html`<blind-score gateway-url=${GATEWAY_URL} publishable-key="pk_nope"></blind-score>`);
    const { detail } = await oneEvent(el, 'blind-score:error');
    expect(detail.code).to.equal('invalid_publishable_key');
    await el.updateComplete;
    expect(part(el, 'error-message')!.textContent).to.contain('not set up correctly');
    expect(part(el, 'edit')).to.equal(null);
  });

  it('a plain-http gateway that is not loopback is refused before any request, with an accessible error', async () => {
    const requested: string[] = [];
    const originalFetch = window.fetch;
    window.fetch = (input: RequestInfo | URL, init?: RequestInit) => {
      requested.push(String(input instanceof Request ? input.url : input));
      return originalFetch(input, init);
    };
    // The refusal comes before any await, so listen before the element connects.
    const el = document.createElement('blind-score');
    el.setAttribute('gateway-url', 'http://bank.example/api');
    el.setAttribute('publishable-key', 'pk_test_demo');
    const failed = oneEvent(el, 'blind-score:error');
    document.body.append(el);
    try {
      const { detail } = await failed;
      expect(detail).to.include({ code: 'insecure_gateway', retriable: false });
      await el.updateComplete;
      expect(part(el, 'error')!.getAttribute('role')).to.equal('alert');
      expect(part(el, 'error-message')!.textContent).to.contain('not set up correctly');
      expect(part(el, 'error-code')!.textContent).to.contain('insecure_gateway');
    } finally {
      window.fetch = originalFetch;
      el.remove();
    }
    expect(requested.filter((u) => u.startsWith('http://bank.example'))).to.deep.equal([]);
  });

  it('a manifest that fails its schema is refused', async () => {
    const el = await fixture<BlindScore>(
      html`<blind-score gateway-url=${GATEWAY_URL} publishable-key="pk_test_bad_manifest"></blind-score>`,
    );
    expect((await oneEvent(el, 'blind-score:error')).detail.code).to.equal('invalid_manifest');
  });

  it('an unreachable gateway is a retriable network_error', async () => {
    const el = await fixture<BlindScore>(html`<blind-score gateway-url="http://127.0.0.1:9" publishable-key="pk_test_demo"></blind-score>`);
    const { detail } = await oneEvent(el, 'blind-score:error');
    expect(detail).to.include({ code: 'network_error', retriable: true });
  });
});
