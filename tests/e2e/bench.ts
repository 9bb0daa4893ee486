/**
 * The `e2e` section of `npm run bench`: the `npm start` stack driven in Chromium, timed from the
 * widget's own progress events as the page receives them.
 *
 * - `keygenMs`: in-page key generation on a first visit (fresh browser profile), including
 *   storing the keys in the page's key cache (`cache-keys`).
 * - then, per check (median of `BENCH_E2E_RUNS`, default 3, the keys already in the page):
 *   `uploadMs` (the 30 MB server key to the gateway), `encryptMs` (encrypting and sending the
 *   three parties' answers), `evaluationMs` (run requested → run done, through the gateway),
 *   `decryptMs`, and `afterKeysMs`: submit → decision shown, the design's "≤ 3 s after keys exist".
 * - `firstVisitTotalMs`: submit → decision shown on the first visit, key generation included.
 * - `applicantMode`: one check on the applicant-mode page (keys already in the page), whose bank
 *   and bureau records the demo bank backend encrypts and uploads with the party SDK:
 *   `afterKeysMs` (submit → decision shown), `waitingForPartiesMs` (the page's own uploads done →
 *   both parties' uploads in), and the same stages as above.
 *
 * Timings on a shared 2-core machine are noisy; the section records the load average.
 */
import { loadavg } from 'node:os';
import type { Page } from 'playwright-core';
import { en } from '../../widget/src/translations/en.ts';
import { loadRecords } from '../../demo/bank-backend/records.ts';
import { loadDemoModel, pickApplicants, pickCustomerApplicant } from './support/applicants.ts';
import { BankPage } from './support/bank-page.ts';
import { launchChromium } from './support/browser.ts';
import { startTestStack } from './support/stack.ts';

const RUNS = Number(process.env['BENCH_E2E_RUNS'] ?? 3);

interface Mark {
  t: number;
  kind: 'progress' | 'decision' | 'error';
  stage?: string;
  fraction?: number | null;
}

/** Records the widget's events with page timestamps; the decision mark waits for the next paint. */
const RECORDER = () => {
  const marks: unknown[] = [];
  (window as unknown as { __marks: unknown[] }).__marks = marks;
  document.addEventListener('blind-score:progress', (e) => {
    const d = (e as CustomEvent<{ stage: string; fraction: number | null }>).detail;
    marks.push({ t: performance.now(), kind: 'progress', stage: d.stage, fraction: d.fraction });
  });
  document.addEventListener('blind-score:decision', () => requestAnimationFrame(() => marks.push({ t: performance.now(), kind: 'decision' })));
  document.addEventListener('blind-score:error', () => marks.push({ t: performance.now(), kind: 'error' }));
};

async function takeMarks(page: Page): Promise<Mark[]> {
  return page.evaluate(() => {
    const w = window as unknown as { __marks: Mark[] };
    return w.__marks.splice(0);
  });
}

/** Time between the first mark of `stage` and the one where it reached fraction 1. */
function stageMs(marks: Mark[], stage: string): number {
  const of = marks.filter((m) => m.kind === 'progress' && m.stage === stage);
  const end = of.find((m) => m.fraction === 1);
  if (!of[0] || !end) throw new Error(`no complete ${stage} stage in ${JSON.stringify(marks)}`);
  return end.t - of[0].t;
}

function checkFigures(marks: Mark[]) {
  const decision = marks.find((m) => m.kind === 'decision');
  if (!decision || marks.some((m) => m.kind === 'error')) throw new Error(`the check did not end in a decision: ${JSON.stringify(marks)}`);
  const start = marks[0]!.t;
  const keysDone = marks.find((m) => m.stage === 'keygen' && m.fraction === 1)!.t;
  return {
    keygenMs: keysDone - start,
    uploadMs: stageMs(marks, 'uploading'),
    encryptMs: stageMs(marks, 'encrypting'),
    evaluationMs: stageMs(marks, 'running'),
    decryptMs: stageMs(marks, 'decrypting'),
    totalMs: decision.t - start,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round = (x: number) => Math.round(x);

/** One check from submit to decision; its marks are also appended to `marks`. */
async function check(bank: BankPage, marks: Mark[] = []): Promise<ReturnType<typeof checkFigures>> {
  await bank.submit();
  if ((await bank.waitForOutcome()) !== 'result') throw new Error(`check failed: ${await bank.shownText()}`);
  // The decision mark is pushed on the frame after the decision event.
  await bank.page.waitForFunction(() => (window as unknown as { __marks: Mark[] }).__marks.some((m) => m.kind === 'decision'));
  marks.push(...(await takeMarks(bank.page)));
  return checkFigures(marks);
}

export async function bench(): Promise<Record<string, unknown>> {
  const loadAverageAtStart = loadavg();
  const model = await loadDemoModel();
  const applicant = pickApplicants(model).approved;
  const [env, browser] = await Promise.all([startTestStack(), launchChromium()]);
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
    await context.addInitScript(RECORDER);
    const bank = await BankPage.open(context, env.stack, model);
    await bank.fill(applicant.features);
    const first = await check(bank);

    const later: ReturnType<typeof checkFigures>[] = [];
    for (let i = 0; i < RUNS; i++) {
      await bank.widget.getByRole('button', { name: en.startOver }).click();
      await bank.fill(applicant.features);
      later.push(await check(bank));
    }
    const pick = (key: keyof ReturnType<typeof checkFigures>) => round(median(later.map((f) => f[key])));

    const customer = pickCustomerApplicant(model, loadRecords().find((r) => r.reference === 'LB-31852')!, 'suggest');
    const applicantPage = await BankPage.open(context, env.stack, model, '/applicant.html');
    await applicantPage.page.locator('#customer:enabled').selectOption(customer.customer);
    await applicantPage.fill(customer.answers);
    const applicantMarks: Mark[] = [];
    const applicantCheck = await check(applicantPage, applicantMarks);
    return {
      runs: RUNS,
      keygenMs: round(first.keygenMs),
      firstVisitTotalMs: round(first.totalMs),
      uploadMs: pick('uploadMs'),
      encryptMs: pick('encryptMs'),
      evaluationMs: pick('evaluationMs'),
      decryptMs: pick('decryptMs'),
      afterKeysMs: pick('totalMs'),
      afterKeysTargetMs: 3000,
      applicantMode: {
        afterKeysMs: round(applicantCheck.totalMs),
        waitingForPartiesMs: round(stageMs(applicantMarks, 'waiting')),
        uploadMs: round(applicantCheck.uploadMs),
        encryptMs: round(applicantCheck.encryptMs),
        evaluationMs: round(applicantCheck.evaluationMs),
        decryptMs: round(applicantCheck.decryptMs),
      },
      loadAverageAtStart,
    };
  } finally {
    await browser.close();
    await env.dispose();
  }
}
