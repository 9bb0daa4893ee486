/// <reference types="mocha" />
/**
 * `<blind-score>` preparing a check ahead of the click, against the test gateway: the `prepare`
 * modes, the data saver deferring to submit, cancel during preparation, the progress phases, the
 * resumable key upload (a part answered 503, a connection cut after a part was stored), and
 * several checks on one session. What the gateway saw comes from its test endpoint.
 */
import { expect, fixture, html, oneEvent, waitUntil } from '@open-wc/testing';
import type { BlindScore } from '../../widget/src/blind-score.ts';
import type { BlindScoreProgressDetail, PreparationStage } from '../../widget/src/events.ts';
import { sendKeys } from '@web/test-runner-commands';
import { answer, audit, control, focused, GATEWAY_URL, mount, part, seedCachedKeys, submitAndWait } from './support/element.ts';

interface GatewayView {
  known: boolean;
  deleted?: boolean;
  partLog?: number[];
  serverKey?: boolean;
  runNumber?: number;
  attempts?: number;
}

async function gatewayView(sessionId: string): Promise<GatewayView> {
  return (await fetch(`${GATEWAY_URL}/__test/sessions/${encodeURIComponent(sessionId)}`)).json() as Promise<GatewayView>;
}

/** Records the element's progress reports and finished preparation stages. */
function record(el: BlindScore) {
  const progress: BlindScoreProgressDetail[] = [];
  const prepared: PreparationStage[] = [];
  let sessionId: string | undefined;
  el.addEventListener('blind-score:progress', (e) => progress.push(e.detail));
  el.addEventListener('blind-score:prepared', (e) => {
    prepared.push(e.detail.stage);
    sessionId ??= e.detail.sessionId;
  });
  el.addEventListener('blind-score:session', (e) => (sessionId ??= e.detail.sessionId));
  return {
    progress,
    prepared,
    get sessionId() {
      return sessionId;
    },
  };
}

const ALL_PARTS = [1, 2, 3, 4, 5, 6];

describe('prepare', () => {
  let cleanup: () => Promise<void>;
  before(async () => {
    cleanup = await seedCachedKeys();
  });
  after(() => cleanup());

  it('interaction (default): the first answer starts a silent preparation; the check then uploads no key', async () => {
    const el = await mount('pk_test_demo');
    expect(el.prepare).to.equal('interaction');
    const seen = record(el);
    await answer(el, 'own_car', true);
    await waitUntil(() => seen.prepared.includes('serverKey'), 'the key is uploaded before the click', { timeout: 150_000 });
    expect(seen.prepared.slice(0, 4)).to.deep.equal(['keygen', 'session', 'publicKey', 'serverKey']);
    // Silent: the form stayed, and every report so far is the preparation's.
    expect(part(el, 'form')).to.exist;
    expect(part(el, 'progress')).to.equal(null);
    expect(new Set(seen.progress.map((p) => p.phase))).to.deep.equal(new Set(['prepare']));
    const upload = seen.progress.filter((p) => p.stage === 'uploading');
    expect(upload.at(-1)).to.include({ bytesSent: 30_146_816 + 32_888, fraction: 1 });
    expect(upload.map((p) => p.bytesSent!)).to.satisfy((sent: number[]) => sent.every((v, i) => i === 0 || v >= sent[i - 1]!));

    const before = await gatewayView(seen.sessionId!);
    expect(before.partLog).to.deep.equal(ALL_PARTS);
    const fromClick = seen.progress.length;
    const { detail } = await submitAndWait(el, 'blind-score:decision');
    expect(detail.approved).to.equal(true);
    const check = seen.progress.slice(fromClick);
    expect(check.every((p) => p.phase === 'check')).to.equal(true);
    expect([...new Set(check.map((p) => p.stage))]).to.deep.equal(['encrypting', 'waiting', 'running', 'decrypting']);
    const after = await gatewayView(seen.sessionId!);
    expect(after.partLog).to.deep.equal(ALL_PARTS);
    expect(after.runNumber).to.equal(1);
  });

  it('submit: answers start nothing; the click prepares and checks', async () => {
    const el = await mount('pk_test_demo');
    el.prepare = 'submit';
    const seen = record(el);
    await answer(el, 'own_car', false);
    await answer(el, 'age', '44');
    await el.updateComplete;
    expect(seen.prepared).to.deep.equal([]);
    const { detail } = await submitAndWait(el, 'blind-score:decision');
    expect(detail.approved).to.equal(false);
    expect(seen.prepared.slice(0, 4)).to.deep.equal(['keygen', 'session', 'publicKey', 'serverKey']);
    expect([...new Set(seen.progress.map((p) => p.stage))]).to.deep.equal([
      'keygen',
      'uploading',
      'encrypting',
      'waiting',
      'running',
      'decrypting',
    ]);
  });

  it('visible: prepares once the element scrolls into view', async () => {
    const wrapper = await fixture<HTMLDivElement>(html`<div>
      <div class="spacer"></div>
      <blind-score gateway-url=${GATEWAY_URL} publishable-key="pk_test_demo" mode="demo" locale="en" prepare="visible" cache-keys></blind-score>
    </div>`);
    wrapper.querySelector<HTMLElement>('.spacer')!.style.height = '5000px';
    window.scrollTo(0, 0);
    const el = wrapper.querySelector('blind-score')!;
    const seen = record(el);
    await waitUntil(() => part(el, 'form'), 'the form appears', { timeout: 10_000 });
    // Off screen (below a 5000 px spacer): nothing yet, even after the form rendered.
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    expect(seen.prepared).to.deep.equal([]);
    el.scrollIntoView();
    await waitUntil(() => seen.prepared.includes('serverKey'), 'prepared once visible', { timeout: 150_000 });
    el.cancel();
  });

  it('data saver on: waits for submit and says why', async () => {
    const connection = Object.assign(new EventTarget(), { saveData: true });
    Object.defineProperty(navigator, 'connection', { value: connection, configurable: true });
    try {
      const el = await mount('pk_test_demo');
      const seen = record(el);
      await answer(el, 'own_car', true);
      await waitUntil(() => seen.progress.some((p) => p.deferred === 'save-data'), 'the deferral is reported', { timeout: 10_000 });
      expect(seen.prepared).to.deep.equal([]);
      const decided = oneEvent(el, 'blind-score:decision');
      part<HTMLButtonElement>(el, 'submit')!.click();
      await el.updateComplete;
      expect(part(el, 'progress-note')!.textContent).to.contain('Data saver is on');
      await audit(el);
      expect((await decided).detail.approved).to.equal(true);
      expect(seen.prepared.slice(0, 4)).to.deep.equal(['keygen', 'session', 'publicKey', 'serverKey']);
    } finally {
      delete (navigator as { connection?: unknown }).connection;
    }
  });

  it('cancel during preparation deletes the session and starts nothing more', async () => {
    const el = await mount('pk_test_demo');
    const seen = record(el);
    await answer(el, 'own_car', true);
    await waitUntil(() => seen.prepared.includes('session'), 'the session exists', { timeout: 60_000 });
    el.cancel();
    // The test gateway may be busy reading a key part with node-tfhe when the delete arrives.
    await waitUntil(async () => (await gatewayView(seen.sessionId!)).deleted === true, 'the gateway deleted the session', {
      timeout: 30_000,
    });
    const count = seen.prepared.length;
    await answer(el, 'age', '50');
    await el.updateComplete;
    expect(seen.prepared.length).to.equal(count);
    expect(part(el, 'form')).to.exist;
  });

  it('cancel while the check waits for the preparation returns to the form and deletes the session', async () => {
    const el = await mount('pk_test_demo');
    el.prepare = 'submit';
    const seen = record(el);
    part<HTMLButtonElement>(el, 'submit')!.click();
    await waitUntil(() => seen.prepared.includes('session'), 'the session exists', { timeout: 60_000 });
    expect(part(el, 'progress')).to.exist;
    part<HTMLButtonElement>(el, 'cancel')!.click();
    await el.updateComplete;
    expect(part(el, 'form')).to.exist;
    await waitUntil(async () => (await gatewayView(seen.sessionId!)).deleted === true, 'the gateway deleted the session', {
      timeout: 30_000,
    });
  });
});

describe('one session, several checks', () => {
  let cleanup: () => Promise<void>;
  before(async () => {
    cleanup = await seedCachedKeys();
  });
  after(() => cleanup());

  it('"Change my answers" keeps the answers; the next check uploads only inputs and gets its own decision', async () => {
    const el = await mount('pk_test_demo');
    const startingAge = control(el, 'age').value;
    const seen = record(el);
    const sessions: string[] = [];
    el.addEventListener('blind-score:session', (e) => sessions.push(e.detail.sessionId));
    await answer(el, 'own_car', true);
    await answer(el, 'age', '37');
    const first = await submitAndWait(el, 'blind-score:decision');
    expect(first.detail.approved).to.equal(true);

    // From the keyboard: the result has focus, Tab reaches "Change my answers", Enter presses it.
    expect(focused(el)).to.equal(part(el, 'result'));
    await sendKeys({ press: 'Tab' });
    expect(focused(el)).to.equal(part(el, 'change'));
    await sendKeys({ press: 'Enter' });
    await el.updateComplete;
    await el.updateComplete;
    expect(control(el, 'age').value).to.equal('37');
    expect(control(el, 'own_car').checked).to.equal(true);
    // Focus lands in the form, on its first field, so a screen reader continues there.
    expect(focused(el)).to.equal(el.shadowRoot!.querySelector('form [name]'));
    const progressBefore = seen.progress.length;
    await answer(el, 'own_car', false);
    const second = await submitAndWait(el, 'blind-score:decision');
    // The test evaluator echoes own_car: the second run's result is its own, not the first's.
    expect(second.detail.approved).to.equal(false);
    const view = await gatewayView(seen.sessionId!);
    expect(view.runNumber).to.equal(2);
    expect(view.partLog).to.deep.equal(ALL_PARTS);
    // Same session, same keys: no second key generation, session or key upload.
    expect(sessions).to.have.length(1);
    expect(seen.prepared.filter((s) => s === 'keygen')).to.have.length(1);
    expect(seen.progress.slice(progressBefore).some((p) => p.stage === 'keygen' || p.stage === 'uploading')).to.equal(false);
    await audit(el);

    // "Start over" (Space on the focused button) clears the answers back to the starting ones.
    part<HTMLButtonElement>(el, 'reset')!.focus();
    await sendKeys({ press: 'Space' });
    await el.updateComplete;
    await el.updateComplete;
    expect(part(el, 'form')).to.exist;
    expect(control(el, 'age').value).to.equal(startingAge);
  });

  it('a session out of runs: the next check prepares a new session with the same keys', async () => {
    const el = await mount('pk_test_one_run');
    const sessions: string[] = [];
    el.addEventListener('blind-score:session', (e) => sessions.push(e.detail.sessionId));
    await answer(el, 'own_car', true);
    expect((await submitAndWait(el, 'blind-score:decision')).detail.approved).to.equal(true);
    part<HTMLButtonElement>(el, 'change')!.click();
    await el.updateComplete;
    await answer(el, 'own_car', false);
    expect((await submitAndWait(el, 'blind-score:decision')).detail.approved).to.equal(false);
    expect(sessions).to.have.length(2);
  });
});

describe('resumable key upload', () => {
  let cleanup: () => Promise<void>;
  before(async () => {
    cleanup = await seedCachedKeys();
  });
  after(() => cleanup());

  it('a part answered 503 with Retry-After is sent again after the wait; the check succeeds', async () => {
    const el = await mount('pk_test_busy_part');
    const seen = record(el);
    await answer(el, 'own_car', true);
    await waitUntil(() => seen.prepared.includes('serverKey'), 'the key is uploaded', { timeout: 150_000 });
    expect((await gatewayView(seen.sessionId!)).partLog).to.deep.equal([1, 2, 3, 3, 4, 5, 6]);
    expect((await submitAndWait(el, 'blind-score:decision')).detail.approved).to.equal(true);
  });

  it('a connection cut after a part was stored resumes without sending that part again', async () => {
    const el = await mount('pk_test_cut_upload');
    const seen = record(el);
    await answer(el, 'own_car', true);
    await waitUntil(() => seen.prepared.includes('serverKey'), 'the key is uploaded', { timeout: 150_000 });
    // Part 2 was stored, then its connection cut. Chromium itself may send it once more on a new
    // connection (answered 409 part_exists, taken as stored); the client's own retry asks the
    // gateway first. Either way no other part travels twice, and part 2 at most twice.
    const log = (await gatewayView(seen.sessionId!)).partLog!;
    expect([...new Set(log)]).to.deep.equal(ALL_PARTS);
    expect(log.filter((n) => n !== 2)).to.deep.equal([1, 3, 4, 5, 6]);
    expect(log.filter((n) => n === 2).length).to.be.at.most(2);
    expect((await submitAndWait(el, 'blind-score:decision')).detail.approved).to.equal(true);
  });
});
