/**
 * The `e2e` section of `npm run bench`: the `npm start` stack's demo page driven in Chromium by a
 * scripted applicant who fills the form field by field over `FORM_SECONDS` (default 45), then
 * asks for a check, then changes one answer and checks again. Two profiles:
 *
 * - `desktop`: no throttling.
 * - `phone-4g`: a phone-class CPU and a 4G link. The CPU: `Emulation.setCPUThrottlingRate` is
 *   refused for workers (where key generation runs), so the whole browser runs in a cgroup v1
 *   `cpu` group with a quota of `BENCH_PHONE_CPUS` CPUs (default 0.35); the JSON gives the quota
 *   and the key generation's measured slowdown against `desktop`. The network: 40 Mbit/s down,
 *   10 Mbit/s up, 60 ms latency, through `Network.emulateNetworkConditions` on the page's target
 *   and on its dedicated worker's own target.
 *
 * Chromium is driven over the bare DevTools protocol (`support/cdp.ts`): no Playwright network
 * instrumentation copying request bodies, and Network is enabled only for the emulation, with no
 * post data kept. Times come from the widget's own events as the page receives them.
 *
 * Per profile, medians of `BENCH_E2E_RUNS` (default 3) first visits (fresh browser contexts):
 * `submitToDecisionMs`, `loadToDecisionMs`, `recheckMs`, `preparedBeforeSubmit` (the preparation
 * stages done at the click, in the most runs), each stage's duration (`stages`), and the main
 * thread's long tasks while the applicant typed.
 */
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FeatureDescriptor } from '../../model/manifest.ts';
import { loadDemoModel, pickApplicants } from '../../tests/e2e/support/applicants.ts';
import { launchBrowser, openPage, type CdpConnection, type CdpPage, type NetworkProfile } from '../../tests/e2e/support/cdp.ts';
import { startTestStack } from '../../tests/e2e/support/stack.ts';

const RUNS = Number(process.env['BENCH_E2E_RUNS'] ?? 3);
const FORM_SECONDS = Number(process.env['FORM_SECONDS'] ?? 45);
const PHONE_CPUS = Number(process.env['BENCH_PHONE_CPUS'] ?? 0.35);

interface Profile {
  name: string;
  cpus?: number;
  network?: NetworkProfile;
}

const PROFILES: Profile[] = [
  { name: 'desktop' },
  {
    name: 'phone-4g',
    cpus: PHONE_CPUS,
    network: { latency: 60, downloadThroughput: (40e6 / 8) | 0, uploadThroughput: (10e6 / 8) | 0 },
  },
];

interface Mark {
  t: number;
  kind: 'progress' | 'prepared' | 'decision' | 'error' | 'submit' | 'typing';
  phase?: string;
  stage?: string;
  fraction?: number | null;
  message?: string;
}

/** Runs in the page before any script: records the widget's events and the main thread's long tasks. */
const RECORDER = `(() => {
  const marks = [];
  const longTasks = [];
  window.__bench = {
    marks,
    longTasks,
  };
  document.addEventListener('blind-score:progress', (e) => marks.push({ t: performance.now(), kind: 'progress', phase: e.detail.phase, stage: e.detail.stage, fraction: e.detail.fraction }));
  document.addEventListener('blind-score:prepared', (e) => marks.push({ t: performance.now(), kind: 'prepared', stage: e.detail.stage }));
  // The decision counts once it is painted: the frame after the event.
  document.addEventListener('blind-score:decision', () => requestAnimationFrame(() => {
    marks.push({ t: performance.now(), kind: 'decision' });
  }));
  document.addEventListener('blind-score:error', (e) => {
    marks.push({ t: performance.now(), kind: 'error', message: e.detail.code + ': ' + e.detail.message });
  });
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) longTasks.push({ start: entry.startTime, duration: entry.duration });
  }).observe({ type: 'longtask', buffered: true });
})();`;

const SHADOW = `document.querySelector('blind-score').shadowRoot`;

async function waitInPage(page: CdpPage, condition: string, what: string, timeoutMs = 120_000): Promise<void> {
  const ok = await page.evaluate<boolean>(`new Promise((resolve) => {
    const deadline = performance.now() + ${timeoutMs};
    const poll = () => {
      let v = false;
      try { v = Boolean(${condition}); } catch {}
      if (v) resolve(true);
      else if (performance.now() > deadline) resolve(false);
      // A timer, not requestAnimationFrame: a frame loop would make the page draw 60 frames a
      // second through the run (renderer CPU the widget does not spend on a real page). The
      // figures come from the recorded marks, not from when this poll notices them.
      else setTimeout(poll, 50);
    };
    poll();
  })`);
  if (!ok) throw new Error(`timed out waiting for ${what}`);
}

/** One field as a person enters it: focus, then type (or pick, or tick). */
async function enter(cdp: CdpConnection, page: CdpPage, f: FeatureDescriptor, value: unknown): Promise<void> {
  const el = `${SHADOW}.querySelector('#field-${f.name}')`;
  if (f.kind === 'boolean') {
    await page.evaluate(`(() => { const el = ${el}; el.focus(); if (el.checked !== ${value === true}) el.click(); })()`);
  } else if (f.kind === 'category') {
    await page.evaluate(
      `(() => { const el = ${el}; el.focus(); el.value = ${JSON.stringify(String(value))}; el.dispatchEvent(new Event('change', { bubbles: true })); })()`,
    );
  } else {
    await page.evaluate(`(() => { const el = ${el}; el.focus(); el.select(); })()`);
    for (const ch of String(value)) await cdp.send('Input.insertText', { text: ch }, page.sessionId);
  }
}

async function clickPart(page: CdpPage, part: string): Promise<number> {
  return page.evaluate<number>(`(() => {
    ${SHADOW}.querySelector('[part~="${part}"]').click();
    const t = performance.now();
    window.__bench.marks.push({ t, kind: 'submit' });
    return t;
  })()`);
}

/** Waits for the `n`-th end of a check (a decision painted, or an error), by counting marks: no race with the event. */
async function outcome(page: CdpPage, n: number): Promise<Mark[]> {
  const ends = `window.__bench.marks.filter((m) => m.kind === 'decision' || m.kind === 'error').length`;
  await waitInPage(page, `${ends} >= ${n}`, `the end of check ${n}`, 600_000);
  const marks = await page.evaluate<Mark[]>('window.__bench.marks');
  const errors = marks.filter((m) => m.kind === 'error');
  if (errors.length > 0) throw new Error(`the check failed: ${JSON.stringify(errors)}`);
  return marks;
}

interface Span {
  startMs: number;
  durationMs: number;
}

/** A stage's span: its first report to the one at fraction 1, within `phase` and after `from`. */
function span(marks: Mark[], phase: string, stage: string, from = 0): Span | null {
  const of = marks.filter((m) => m.kind === 'progress' && m.phase === phase && m.stage === stage && m.t >= from);
  const end = of.find((m) => m.fraction === 1);
  if (!of[0] || !end) return null;
  return { startMs: of[0].t, durationMs: end.t - of[0].t };
}

interface RunFigures {
  submitToDecisionMs: number;
  loadToDecisionMs: number;
  recheckMs: number;
  preparedBeforeSubmit: string[];
  stages: Record<string, Span | null>;
  longTasksWhileTyping: { count: number; maxMs: number };
}

async function oneRun(cdp: CdpConnection, url: string, profile: Profile, fields: [FeatureDescriptor, unknown][]): Promise<RunFigures> {
  const page = await openPage(cdp, { ...(profile.network ? { network: profile.network } : {}), initScript: RECORDER });
  try {
    await cdp.send('Page.navigate', { url }, page.sessionId);
    await waitInPage(page, `${SHADOW}.querySelector('[part~="form"]')`, 'the form');
    const typingStart = await page.evaluate<number>('performance.now()');
    const pause = (FORM_SECONDS * 1000) / fields.length;
    for (const [f, value] of fields) {
      await enter(cdp, page, f, value);
      await sleep(pause);
    }
    const submitAt = await clickPart(page, 'submit');
    const marks = await outcome(page, 1);
    const decisionAt = marks.find((m) => m.kind === 'decision')!.t;
    const longTasks = (await page.evaluate<{ start: number; duration: number }[]>('window.__bench.longTasks')).filter(
      (l) => l.start >= typingStart && l.start < submitAt,
    );

    // Change one answer (tick or untick the first yes/no field) and check again on the same session.
    await clickPart(page, 'change');
    await waitInPage(page, `${SHADOW}.querySelector('[part~="form"]')`, 'the form again');
    const toggle = fields.find(([f]) => f.kind === 'boolean')!;
    await enter(cdp, page, toggle[0], toggle[1] !== true);
    const recheckAt = await clickPart(page, 'submit');
    const afterRecheck = await outcome(page, 2);
    const recheckDecision = afterRecheck.filter((m) => m.kind === 'decision')[1]!.t;

    const prepared = marks.filter((m) => m.kind === 'prepared' && m.t < submitAt).map((m) => m.stage!);
    const sessionDone = marks.find((m) => m.kind === 'prepared' && m.stage === 'session');
    const keygen = span(marks, 'prepare', 'keygen');
    return {
      submitToDecisionMs: decisionAt - submitAt,
      loadToDecisionMs: decisionAt,
      recheckMs: recheckDecision - recheckAt,
      preparedBeforeSubmit: prepared,
      stages: {
        keygen,
        session:
          keygen && sessionDone
            ? { startMs: keygen.startMs + keygen.durationMs, durationMs: sessionDone.t - keygen.startMs - keygen.durationMs }
            : null,
        upload: span(marks, 'prepare', 'uploading'),
        encrypt: span(marks, 'check', 'encrypting', submitAt),
        run: span(marks, 'check', 'running', submitAt),
        decrypt: span(marks, 'check', 'decrypting', submitAt),
        recheckEncrypt: span(afterRecheck, 'check', 'encrypting', recheckAt),
        recheckRun: span(afterRecheck, 'check', 'running', recheckAt),
      },
      longTasksWhileTyping: { count: longTasks.length, maxMs: Math.round(Math.max(0, ...longTasks.map((l) => l.duration))) },
    };
  } finally {
    await page.close();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round = (x: number) => Math.round(x);

function summarize(runs: RunFigures[]) {
  const stageNames = Object.keys(runs[0]!.stages);
  const stages: Record<string, { startMs: number; durationMs: number } | null> = {};
  for (const name of stageNames) {
    const got = runs.map((r) => r.stages[name]).filter((s): s is Span => s !== null);
    stages[name] =
      got.length === 0
        ? null
        : { startMs: round(median(got.map((s) => s.startMs))), durationMs: round(median(got.map((s) => s.durationMs))) };
  }
  // The stages done at the click in at least half of the runs.
  const counts = new Map<string, number>();
  for (const r of runs) for (const s of r.preparedBeforeSubmit) counts.set(s, (counts.get(s) ?? 0) + 1);
  return {
    runs: runs.length,
    submitToDecisionMs: round(median(runs.map((r) => r.submitToDecisionMs))),
    loadToDecisionMs: round(median(runs.map((r) => r.loadToDecisionMs))),
    recheckMs: round(median(runs.map((r) => r.recheckMs))),
    preparedBeforeSubmit: [...counts].filter(([, n]) => n * 2 >= runs.length).map(([s]) => s),
    stages,
    longTasksWhileTyping: {
      count: median(runs.map((r) => r.longTasksWhileTyping.count)),
      maxMs: Math.max(...runs.map((r) => r.longTasksWhileTyping.maxMs)),
    },
    each: runs.map((r) => ({
      submitToDecisionMs: round(r.submitToDecisionMs),
      recheckMs: round(r.recheckMs),
      preparedBeforeSubmit: r.preparedBeforeSubmit,
    })),
  };
}

export async function bench(): Promise<Record<string, unknown>> {
  const loadAverageAtStart = loadavg();
  const model = await loadDemoModel();
  const applicant = pickApplicants(model).approved;
  // The form asks only what the model reads (the manifest's inputs): data minimisation.
  const read = new Set(model.manifest.inputs.map((i) => i.feature));
  const fields = model.manifest.features
    .filter((f) => read.has(f.name) && applicant.features[f.name] !== undefined)
    .map((f) => [f, applicant.features[f.name]] as [FeatureDescriptor, unknown]);
  const env = await startTestStack();
  const profiles: Record<string, unknown> = {};
  try {
    const only = process.env['BENCH_E2E_PROFILES']?.split(',');
    for (const profile of PROFILES) {
      if (only && !only.includes(profile.name)) continue;
      const browser = await launchBrowser(profile.cpus === undefined ? {} : { cpus: profile.cpus });
      try {
        const runs: RunFigures[] = [];
        const failures: string[] = [];
        // A failed run is reported (with its error), not hidden; the medians are of the others.
        for (let i = 0; i < RUNS; i++) {
          try {
            runs.push(await oneRun(browser.cdp, env.stack.url, profile, fields));
          } catch (e) {
            failures.push(e instanceof Error ? e.message : String(e));
          }
        }
        // Each profile also goes to stderr as it ends, so a later failure loses nothing.
        profiles[profile.name] = {
          ...(runs.length > 0 ? summarize(runs) : { runs: 0 }),
          failedRuns: failures,
          cpu: browser.cpu,
          network: profile.network
            ? { method: 'Network.emulateNetworkConditions on the page and its dedicated worker', ...profile.network }
            : { method: 'none' },
        };
        process.stderr.write(`e2e profile ${profile.name}: ${JSON.stringify(profiles[profile.name])}\n`);
      } finally {
        await browser.close();
      }
    }
  } finally {
    await env.dispose();
  }
  const keygenOf = (name: string) => (profiles[name] as { stages?: { keygen?: Span | null } } | undefined)?.stages?.keygen?.durationMs;
  const desktopKeygen = keygenOf('desktop');
  const phoneKeygen = keygenOf('phone-4g');
  return {
    formSeconds: FORM_SECONDS,
    profiles,
    // How much slower the phone profile's CPU made key generation (the target is ~4×).
    phoneCpuSlowdown: desktopKeygen && phoneKeygen ? Math.round((phoneKeygen / desktopKeygen) * 100) / 100 : null,
    targets: { phone4gSubmitToDecisionMs: 2500, desktopSubmitToDecisionMs: 1200, desktopRecheckMs: 1000 },
    loadAverageAtStart,
    loadAverageAtEnd: loadavg(),
  };
}
