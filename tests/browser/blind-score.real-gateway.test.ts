/// <reference types="mocha" />
/**
 * `<blind-score>` against the real gateway (workerd through wrangler) and the real evaluator:
 * keys made in Chromium and prepared ahead of the click, checks whose decisions and explanations
 * are the cleartext model's, re-checks on the same session, and sessions deleted at the gateway
 * on cancel and when the element goes.
 *
 * Key generation in Chromium and each session's 30 MB key upload and expansion are what cost: the
 * first describe's cases share one element, one set of fresh keys and one session, in order (each
 * case goes on from where the previous one left the element).
 */
import { expect, waitUntil } from '@open-wc/testing';
import { sendKeys } from '@web/test-runner-commands';
import type { BlindScore } from '../../widget/src/blind-score.ts';
import type { BlindScoreDecisionDetail, BlindScoreProgressDetail, PreparationStage } from '../../widget/src/events.ts';
import { answer, audit, control, focused, part, seedCachedKeys, snap, submitAndWait } from './support/element.ts';
import { applicants, fill, mountReal, realGateway, watchGateway } from './support/real-gateway.ts';
import type { ApplicantCase } from './server/real-stack-api.ts';

/** The key uploads (the public key, the server key's parts) the page makes from now on, per resource timing. */
function recordKeyUploads(): { uploads: string[]; stop: () => void } {
  const uploads: string[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const m = /\/(public-key|server-key\/uploads\/[^/]+\/parts\/\d+)$/.exec(e.name);
      if (m) uploads.push(m[1]!.replace(/uploads\/[^/]+\//, ''));
    }
  });
  observer.observe({ type: 'resource' });
  return { uploads, stop: () => observer.disconnect() };
}

/** Records the element's progress reports, finished preparation stages and sessions. */
function record(el: BlindScore) {
  const progress: BlindScoreProgressDetail[] = [];
  const prepared: PreparationStage[] = [];
  const sessions: string[] = [];
  el.addEventListener('blind-score:progress', (e) => progress.push(e.detail));
  el.addEventListener('blind-score:prepared', (e) => {
    prepared.push(e.detail.stage);
    if (e.detail.sessionId && !sessions.includes(e.detail.sessionId)) sessions.push(e.detail.sessionId);
  });
  el.addEventListener('blind-score:session', (e) => sessions.includes(e.detail.sessionId) || sessions.push(e.detail.sessionId));
  return { progress, prepared, sessions };
}

/** The decision and the texts shown are the cleartext model's for this applicant. */
function expectModelOutcome(el: BlindScore, detail: BlindScoreDecisionDetail, applicant: ApplicantCase): void {
  const { outcome, texts } = applicant;
  expect(detail.decision).to.equal(outcome.kind === 'approved' ? 'approved' : 'denied');
  expect(detail.explanation.minYearsEmployedBin).to.equal(outcome.kind === 'suggest' ? outcome.label : null);
  expect(detail.explanation.untilYearsEmployedBin).to.equal(outcome.kind === 'suggest' ? (outcome.until?.label ?? null) : null);
  expect(part(el, detail.decision)!.textContent).to.contain(texts.title);
  if (outcome.kind === 'approved') expect(part(el, 'explain')).to.equal(null);
  else expect(part(el, 'explain')!.textContent!.trim()).to.equal(texts.lines.at(-1));
}

/**
 * The session is deleted at the gateway (its status, read with its own token, is 410
 * `session_deleted`) by exactly one DELETE from the page, answered 204.
 */
async function expectDeletedOnce(watch: Awaited<ReturnType<typeof watchGateway>>, sessionId: string): Promise<void> {
  await waitUntil(async () => (await watch.sessionStatus(sessionId)).status === 410, 'the gateway deleted the session', {
    timeout: 30_000,
  });
  expect((await watch.sessionStatus(sessionId)).body.code).to.equal('session_deleted');
  await waitUntil(() => watch.pending === 0, 'every request of the page is answered', { timeout: 30_000 });
  const deletes = watch.requests.filter((r) => r.method === 'DELETE' && r.path === `/v1/sessions/${sessionId}`);
  expect(deletes.map((r) => r.status)).to.deep.equal([204]);
}

describe('real gateway: one element, fresh keys, one session', () => {
  let el: BlindScore;
  let seen: ReturnType<typeof record>;
  let watch: Awaited<ReturnType<typeof watchGateway>>;
  let keyUploads: ReturnType<typeof recordKeyUploads>;
  let cases: Awaited<ReturnType<typeof applicants>>;

  before(async () => {
    cases = await applicants();
    watch = await watchGateway();
  });
  after(() => {
    watch.stop();
    keyUploads?.stop();
    el?.parentElement?.remove();
  });

  /** "Change my answers", new answers, and the check on the same session. */
  async function recheck(applicant: ApplicantCase): Promise<BlindScoreDecisionDetail> {
    part<HTMLButtonElement>(el, 'change')!.click();
    await el.updateComplete;
    await fill(el, applicant.features);
    const { detail } = await submitAndWait(el, 'blind-score:decision');
    expectModelOutcome(el, detail, applicant);
    return detail;
  }

  it('prepares in silence from the first answer (keys made here), then checks an approval the model gives', async () => {
    el = await mountReal({ cacheKeys: false, persist: true });
    expect(el.prepare).to.equal('interaction');
    seen = record(el);
    keyUploads = recordKeyUploads();
    await snap('demo-form', el);
    await fill(el, cases.approved.features);
    await waitUntil(() => seen.prepared.includes('serverKey'), 'the key is uploaded before the click', { timeout: 170_000 });
    expect(seen.prepared.slice(0, 4)).to.deep.equal(['keygen', 'session', 'publicKey', 'serverKey']);
    // Silent: the form stayed, and every report so far is the preparation's.
    expect(part(el, 'form')).to.exist;
    expect(part(el, 'progress')).to.equal(null);
    expect(new Set(seen.progress.map((p) => p.phase))).to.deep.equal(new Set(['prepare']));
    const upload = seen.progress.filter((p) => p.stage === 'uploading');
    // The compact public key (32,888 bytes) and the compressed server key, as one upload.
    expect(upload.at(-1)).to.include({ bytesSent: 30_146_816 + 32_888, bytesTotal: 30_146_816 + 32_888, fraction: 1 });
    expect(upload.map((p) => p.bytesSent!)).to.satisfy((sent: number[]) => sent.every((v, i) => i === 0 || v >= sent[i - 1]!));
    // Demo mode: the bank's and the bureau's panels go up once the session is prepared; the
    // applicant's answers wait for the click.
    const inputPuts = () =>
      watch.requests.filter((r) => r.method === 'PUT' && r.path.includes('/inputs/')).map((r) => `${r.path.split('/').at(-1)} ${r.status}`);
    await waitUntil(() => inputPuts().length >= 2, 'the bank and the bureau upload ahead', { timeout: 30_000 });
    expect(inputPuts().sort()).to.deep.equal(['bank 201', 'bureau 201']);

    const fromClick = seen.progress.length;
    const { detail } = await submitAndWait(el, 'blind-score:decision');
    expectModelOutcome(el, detail, cases.approved);
    const { url, publishableKey } = await realGateway();
    const manifest = (await (await fetch(`${url}/v1/manifest`, { headers: { 'x-blindscore-key': publishableKey } })).json()) as {
      modelVersion: string;
      explanation: { bins: { label: string }[] };
    };
    expect(detail.modelVersion).to.equal(manifest.modelVersion);
    expect(detail.explanation.bins.map((b) => b.bin)).to.deep.equal(manifest.explanation.bins.map((b) => b.label));
    expect(inputPuts().slice(2)).to.deep.equal(['applicant 201']);
    const check = seen.progress.slice(fromClick);
    expect(check.every((p) => p.phase === 'check')).to.equal(true);
    expect([...new Set(check.map((p) => p.stage))]).to.deep.equal(['encrypting', 'waiting', 'running', 'decrypting']);
    // The evaluator's own progress, in order, to the end.
    const running = check.filter((p) => p.stage === 'running').map((p) => p.fraction!);
    expect(running).to.satisfy((f: number[]) => f.every((v, i) => i === 0 || v >= f[i - 1]!));
    expect(running.at(-1)).to.equal(1);
    // The key travelled once, before the click: the public key, then each server-key part.
    await waitUntil(() => keyUploads.uploads.length >= 7, 'the key uploads are timed', { timeout: 10_000 });
    expect(keyUploads.uploads).to.deep.equal(['public-key', ...[1, 2, 3, 4, 5, 6].map((n) => `server-key/parts/${n}`)]);

    expect(part(el, 'model-version')!.textContent).to.contain(detail.modelVersion.slice(0, 12));
    expect(focused(el)).to.equal(part(el, 'result'));
    expect(el.shadowRoot!.querySelector('[role="status"]')!.textContent).to.contain('Result ready: Likely approved');
    await audit(el);
    await snap('demo-approved', el);
  });

  it('"Change my answers" from the keyboard keeps the answers and checks again on the same session: a denial, explained', async () => {
    const progressBefore = seen.progress.length;
    // The result has focus, Tab reaches "Change my answers", Enter presses it.
    expect(focused(el)).to.equal(part(el, 'result'));
    await sendKeys({ press: 'Tab' });
    expect(focused(el)).to.equal(part(el, 'change'));
    await sendKeys({ press: 'Enter' });
    await el.updateComplete;
    await el.updateComplete;
    expect(control(el, 'age').value).to.equal(String(cases.approved.features.age));
    // Focus lands in the form, on its first field, so a screen reader continues there.
    expect(focused(el)).to.equal(el.shadowRoot!.querySelector('form [name]'));
    await fill(el, cases.suggest.features);
    const { detail } = await submitAndWait(el, 'blind-score:decision');
    expectModelOutcome(el, detail, cases.suggest);
    await audit(el);
    await snap('demo-denied-explained', el);

    // Same session, same keys: no second key generation, session or key upload.
    expect(seen.sessions).to.have.length(1);
    expect((await watch.sessionStatus(seen.sessions[0]!)).body.runs?.runNumber).to.equal(2);
    expect(seen.prepared.filter((s) => s === 'keygen')).to.have.length(1);
    expect(seen.progress.slice(progressBefore).some((p) => p.stage === 'keygen' || p.stage === 'uploading')).to.equal(false);
    expect(keyUploads.uploads).to.have.length(7);
  });

  it('says so when no length of employment would flip a denial', async () => {
    await recheck(cases.none);
  });

  it('speaks of being employed to an applicant who is not', async () => {
    await recheck(cases.notEmployedSuggest);
    await audit(el);
    // No length of employment would do: the wording still fits someone not employed.
    await recheck(cases.notEmployedNone);
    expect((await watch.sessionStatus(seen.sessions[0]!)).body.runs?.runNumber).to.equal(5);
  });

  it('"Start over" clears the answers and keeps the session ready; leaving deletes it, once', async () => {
    part<HTMLButtonElement>(el, 'reset')!.focus();
    await sendKeys({ press: 'Space' });
    await el.updateComplete;
    await el.updateComplete;
    expect(part(el, 'form')).to.exist;
    expect(focused(el)?.getAttribute('name')).to.equal('own_car');
    expect(control(el, 'age').value).not.to.equal(String(cases.notEmployedNone.features.age));
    // The next applicant on this page needs no new key: the session stays.
    expect((await watch.sessionStatus(seen.sessions[0]!)).status).to.equal(200);
    el.parentElement!.remove();
    await expectDeletedOnce(watch, seen.sessions[0]!);
    expect(watch.requests.filter((r) => r.status >= 400)).to.deep.equal([]);
  });
});

describe('real gateway: cancel deletes the session', () => {
  let cleanup: () => Promise<void>;
  let watch: Awaited<ReturnType<typeof watchGateway>>;
  before(async () => {
    cleanup = await seedCachedKeys();
    watch = await watchGateway();
  });
  after(async () => {
    watch.stop();
    await cleanup();
  });

  it('cancel during preparation deletes the session and starts nothing more', async () => {
    const el = await mountReal();
    const seen = record(el);
    await answer(el, 'own_car', true);
    await waitUntil(() => seen.prepared.includes('session'), 'the session exists', { timeout: 60_000 });
    el.cancel();
    await expectDeletedOnce(watch, seen.sessions[0]!);
    const count = seen.prepared.length;
    await answer(el, 'age', '50');
    await el.updateComplete;
    expect(seen.prepared.length).to.equal(count);
    expect(part(el, 'form')).to.exist;
  });

  it('cancel as the preparation finishes (two callers ask) deletes the session once', async () => {
    const el = await mountReal();
    const seen = record(el);
    // The stage's event comes just before the preparation resolves: the cancel stops it, and the
    // resolved preparation, aborted, forgets its session too. One DELETE must reach the gateway.
    el.addEventListener('blind-score:prepared', (e) => e.detail.stage === 'serverKey' && el.cancel());
    await answer(el, 'own_car', true);
    await waitUntil(() => seen.prepared.includes('serverKey'), 'the key is uploaded', { timeout: 150_000 });
    await expectDeletedOnce(watch, seen.sessions[0]!);
  });

  it('cancel while the check waits for the preparation returns to the form and deletes the session', async () => {
    const el = await mountReal();
    el.prepare = 'submit';
    const seen = record(el);
    part<HTMLButtonElement>(el, 'submit')!.click();
    await waitUntil(() => seen.prepared.includes('session'), 'the session exists', { timeout: 60_000 });
    expect(part(el, 'progress')).to.exist;
    part<HTMLButtonElement>(el, 'cancel')!.click();
    await el.updateComplete;
    expect(part(el, 'form')).to.exist;
    await expectDeletedOnce(watch, seen.sessions[0]!);
  });
});
