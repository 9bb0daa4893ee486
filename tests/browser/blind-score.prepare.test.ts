/// <reference types="mocha" />
/**
 * `<blind-score>` preparing a check ahead of the click, against the scripted test gateway: the
 * `submit` and `visible` modes, the data saver deferring to submit, and what must be produced on
 * demand: a session out of runs, the resumable key upload (a part answered 503, a connection cut
 * after a part was stored), and demo mode's bank and bureau panels uploading ahead of the click
 * (never the applicant's answers). What the gateway saw comes from its test endpoint. Preparing ahead by
 * default, checks on one session, and cancel deleting the session run against the real gateway
 * (blind-score.real-gateway.test.ts).
 */
import { expect, fixture, html, oneEvent, waitUntil } from '@open-wc/testing';
import type { BlindScore } from '../../widget/src/blind-score.ts';
import type { BlindScoreProgressDetail, PreparationStage } from '../../widget/src/events.ts';
import { answer, audit, GATEWAY_URL, mount, part, seedCachedKeys, submitAndWait } from './support/element.ts';

interface InputLogEntry {
  party: string;
  runsBefore: number;
  stored: boolean;
}

interface GatewayView {
  known: boolean;
  inputLog?: InputLogEntry[];
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
});

describe('one session, several checks', () => {
  let cleanup: () => Promise<void>;
  before(async () => {
    cleanup = await seedCachedKeys();
  });
  after(() => cleanup());

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

describe('demo mode: the bank and the bureau upload ahead of the click', () => {
  let cleanup: () => Promise<void>;
  before(async () => {
    cleanup = await seedCachedKeys();
  });
  after(() => cleanup());

  /** The gateway's log of inputs PUTs, once `ready` holds of it. */
  async function inputLogOnce(sessionId: () => string | undefined, ready: (log: InputLogEntry[]) => boolean): Promise<InputLogEntry[]> {
    let log: InputLogEntry[] = [];
    try {
      await waitUntil(
        async () => {
          const id = sessionId();
          if (!id) return false;
          log = (await gatewayView(id)).inputLog ?? [];
          return ready(log);
        },
        'the gateway sees the expected inputs',
        { timeout: 60_000, interval: 100 },
      );
    } catch (e) {
      throw new Error(`${String(e)}; it saw ${JSON.stringify(log)} (session ${sessionId() ?? 'none'})`);
    }
    return log;
  }
  const of = (log: InputLogEntry[], party: string) => log.filter((e) => e.party === party);

  it('panels go up before the click, the applicant only at the click; unchanged ones are not sent again, a changed one is', async () => {
    const el = await mount('pk_test_demo');
    const seen = record(el);
    await answer(el, 'own_car', true);
    const before = await inputLogOnce(
      () => seen.sessionId,
      (log) => of(log, 'bank').length > 0 && of(log, 'bureau').length > 0,
    );
    // The applicant's answers were encrypted in the same pass, yet never left the page.
    expect(before.map((e) => e.party).sort()).to.deep.equal(['bank', 'bureau']);
    expect(before.every((e) => e.stored && e.runsBefore === 0)).to.equal(true);
    expect((await submitAndWait(el, 'blind-score:decision')).detail.approved).to.equal(true);
    const first = (await gatewayView(seen.sessionId!)).inputLog!;
    expect(first.map((e) => e.party).sort()).to.deep.equal(['applicant', 'bank', 'bureau']);

    // Change the bank's answer after the run: it goes up again before the click, after the run.
    part<HTMLButtonElement>(el, 'change')!.click();
    await el.updateComplete;
    await answer(el, 'account_age', '40');
    const changed = await inputLogOnce(
      () => seen.sessionId,
      (log) => of(log, 'bank').length === 2,
    );
    expect(of(changed, 'bank')[1]).to.deep.equal({ party: 'bank', runsBefore: 1, stored: true });
    expect((await submitAndWait(el, 'blind-score:decision')).detail.approved).to.equal(true);
    const view = await gatewayView(seen.sessionId!);
    expect(view.runNumber).to.equal(2);
    // The applicant's and the bureau's answers did not change: the session kept them.
    expect(view.inputLog!.map((e) => e.party).sort()).to.deep.equal(['applicant', 'bank', 'bank', 'bureau']);
  });

  it('a refused upload ahead is silent: the click sends that party again and the check succeeds', async () => {
    const el = await mount('pk_test_bank_refused_once');
    const seen = record(el);
    await answer(el, 'own_car', true);
    await inputLogOnce(
      () => seen.sessionId,
      (log) => of(log, 'bank').length > 0 && of(log, 'bureau').length > 0,
    );
    expect(part(el, 'error')).to.equal(null);
    expect((await submitAndWait(el, 'blind-score:decision')).detail.approved).to.equal(true);
    const log = (await gatewayView(seen.sessionId!)).inputLog!;
    expect(of(log, 'bank')).to.deep.equal([
      { party: 'bank', runsBefore: 0, stored: false },
      { party: 'bank', runsBefore: 0, stored: true },
    ]);
    expect(of(log, 'applicant')).to.have.length(1);
  });
});
