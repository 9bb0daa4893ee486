/**
 * Concurrent full sessions through the gateway, with real processes: the gateway in workerd
 * (wrangler's dev server, local Durable Objects and R2), the evaluator as a Node process on
 * loopback with its defaults, real node-tfhe keys. For each N of `BENCH_CONCURRENCY` (default
 * 1,2,4,8), N sessions start at the same moment; each creates its session, uploads its 30 MB
 * server key, public key and the three parties' inputs, runs, follows the progress stream and
 * reads its result, retrying as the product's clients do (`protocol/retry.ts`). Prints one JSON
 * object with, per N:
 * - `sessionsPerMinute`: N / wall time of the burst;
 * - `timeToResultMs` p50 / p95: session creation → result read;
 * - `breakdownMs` (medians): `upload` (create → last input stored), `queueWait` (run requested →
 *   the evaluator starts it), `expansion` (the `expanding_key` stage), `run` (bootstraps → done);
 * - `evaluatorPeakRssMB`: the evaluator process's resident memory, sampled every 100 ms;
 * - `machineCpuSeconds`, `cpuSecondsPerSession`: CPU the whole machine spent on the burst (/proc/stat);
 * - `failures`, `retries` (what the clients recovered from).
 * And `p95RatioCpuFloor`: the top level's p95 over N = 1's that its CPU work alone imposes on
 * this machine's cores (N × one session's CPU-seconds / cores / N = 1's p95).
 * Plus `loadAverage` at the start of each N: the figures are only indicative on a shared machine.
 *
 * Run: `npm run bench:gateway:burst` (e.g. `BENCH_CONCURRENCY=1,8`).
 */
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { EventSourceParserStream } from 'eventsource-parser/stream';
import type { Manifest } from '../../model/manifest.ts';
import { PROGRESS_EVENT, PublicHeaders, SessionProgress } from '../../protocol/public-api.ts';
import { loadPublicKeyTestKeys } from '../../tests/support/tfhe-keys.ts';
import { freePort, startEvaluatorProcess, type EvaluatorProcess } from '../../tests/workerd/support/evaluator.ts';
import { startGateway, type TestGateway } from '../../tests/workerd/support/gateway.ts';
import { encryptPartyInputs, sampleApplication } from '../../tests/workerd/support/inputs.ts';
import { retryingFetch } from '../../tests/workerd/support/retrying-fetch.ts';
import { KEYS } from '../../tests/workerd/support/tenants.ts';

const LEVELS = (process.env['BENCH_CONCURRENCY'] ?? '1,2,4,8').split(',').map(Number);
const keys = loadPublicKeyTestKeys('tuniform');

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] ?? Number.NaN;
};
const round = (x: number) => Math.round(x);

interface SessionTimes {
  totalMs: number;
  uploadMs: number;
  queueWaitMs: number;
  expansionMs: number;
  runMs: number;
}

/** Resident memory of a process in MB, from /proc (Linux). */
function rssMB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

/** Busy and total time of all CPUs since boot, from /proc/stat (Linux), in clock ticks. */
function cpuTicks(): { busy: number; total: number } {
  const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = fields.map(Number) as number[];
  const busy = user! + nice! + system! + irq! + softirq! + steal!;
  return { busy, total: busy + idle! + iowait! };
}

async function fullSession(gw: TestGateway, manifest: Manifest, i: number, onRetry: (what: string) => void): Promise<SessionTimes> {
  const send = retryingFetch((path, init) => gw.fetch(path, init), onRetry);
  const t0 = performance.now();
  const created = (await (
    await send(
      '/v1/sessions',
      {
        method: 'POST',
        headers: { [PublicHeaders.publishableKey]: KEYS.demo.publishable, origin: KEYS.demo.origin, 'content-type': 'application/json' },
        body: JSON.stringify({ modelVersion: manifest.modelVersion }),
      },
      [201],
    )
  ).json()) as { sessionId: string; token: string };
  const auth = { authorization: `Bearer ${created.token}` };
  const base = `/v1/sessions/${created.sessionId}`;
  const octets = (body: Uint8Array) => ({
    method: 'PUT',
    headers: { ...auth, 'content-type': 'application/octet-stream' },
    body: body as Uint8Array<ArrayBuffer>,
  });
  await Promise.all([
    send(`${base}/server-key`, octets(keys.compressedServerKeyBytes), [200, 201]),
    send(`${base}/public-key`, octets(keys.compactPublicKeyBytes), [200, 201]),
  ]);
  const features = sampleApplication(200 + i);
  await Promise.all(
    (['applicant', 'bank', 'bureau'] as const).map((party) =>
      send(
        `${base}/inputs/${party}`,
        {
          method: 'PUT',
          headers: { ...auth, 'content-type': 'application/json' },
          body: JSON.stringify(encryptPartyInputs(manifest, party, keys.clientKey, features)),
        },
        [200, 201],
      ),
    ),
  );
  const uploaded = performance.now();
  // Stage entry times from the progress stream; a retriable failed run is run again ("Try again").
  const stages = new Map<string, number>();
  for (let attempt = 0; ; attempt++) {
    const runAt = performance.now();
    stages.clear();
    stages.set('requested', runAt);
    await send(`${base}/run`, { method: 'POST', headers: auth }, [200, 202]);
    let last: SessionProgress | undefined;
    for (let stream = 0; stream < 4 && last?.state !== 'done' && last?.state !== 'failed'; stream++) {
      const res = await send(`${base}/progress`, { headers: auth }, [200]);
      const reader = res
        .body!.pipeThrough(new TextDecoderStream() as unknown as TransformStream<Uint8Array, string>)
        .pipeThrough(new EventSourceParserStream())
        .getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        if (value.event !== PROGRESS_EVENT) continue;
        last = SessionProgress.parse(JSON.parse(value.data));
        if (!stages.has(last.run.stage)) stages.set(last.run.stage, performance.now());
      }
    }
    if (last?.state === 'done') break;
    if (!last?.run.error?.retriable || attempt >= 3) throw new Error(`run failed: ${JSON.stringify(last?.run.error)}`);
    onRetry(`run: ${last.run.error.code}`);
  }
  await (await send(`${base}/result`, { headers: auth }, [200])).text();
  const end = performance.now();
  await send(base, { method: 'DELETE', headers: auth }, [204]);
  // Missing stages (too quick for a progress event) take no time.
  const at = (stage: string, fallback: number) => stages.get(stage) ?? fallback;
  const doneAt = at('done', end);
  const runStart = at('bootstraps', doneAt);
  const expandStart = at('expanding_key', runStart);
  return {
    totalMs: end - t0,
    uploadMs: uploaded - t0,
    queueWaitMs: expandStart - at('requested', expandStart),
    expansionMs: runStart - expandStart,
    runMs: doneAt - runStart,
  };
}

async function level(gw: TestGateway, evaluator: EvaluatorProcess, manifest: Manifest, n: number) {
  const load = loadavg().map((x) => Math.round(x * 10) / 10);
  let peak = rssMB(evaluator.pid);
  const sampler = setInterval(() => (peak = Math.max(peak, rssMB(evaluator.pid))), 100);
  const retries: string[] = [];
  const ticks = cpuTicks();
  const started = performance.now();
  const outcomes = await Promise.allSettled(
    Array.from({ length: n }, (_, i) => fullSession(gw, manifest, i, (what) => retries.push(what))),
  );
  const wallMs = performance.now() - started;
  const after = cpuTicks();
  // Every process of the stack (bench client, wrangler, workerd, local R2, evaluator) and anything
  // else running: CPU-seconds the machine spent on the burst.
  const machineCpuSeconds = ((after.busy - ticks.busy) / (after.total - ticks.total)) * cpus().length * (wallMs / 1000);
  clearInterval(sampler);
  const times = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
  const failures = outcomes.flatMap((o) => (o.status === 'rejected' ? [(o.reason as Error).message] : []));
  const med = (k: keyof SessionTimes) =>
    round(
      quantile(
        times.map((t) => t[k]),
        0.5,
      ),
    );
  return {
    concurrency: n,
    loadAverage: load,
    sessionsPerMinute: Math.round((times.length / (wallMs / 60_000)) * 10) / 10,
    timeToResultMs: {
      p50: med('totalMs'),
      p95: round(
        quantile(
          times.map((t) => t.totalMs),
          0.95,
        ),
      ),
    },
    breakdownMs: { upload: med('uploadMs'), queueWait: med('queueWaitMs'), expansion: med('expansionMs'), run: med('runMs') },
    evaluatorPeakRssMB: round(peak),
    machineCpuSeconds: Math.round(machineCpuSeconds * 10) / 10,
    cpuSecondsPerSession: Math.round((machineCpuSeconds / n) * 100) / 100,
    failures,
    retries,
  };
}

const port = await freePort();
const evaluator = await startEvaluatorProcess(port);
const gw = await startGateway({ evaluatorUrl: `http://127.0.0.1:${port}` });
try {
  const manifest = (await (
    await gw.fetch('/v1/manifest', { headers: { [PublicHeaders.publishableKey]: KEYS.demo.publishable } })
  ).json()) as Manifest;
  await fullSession(gw, manifest, 99, () => undefined); // warm-up: workerd and evaluator code paths
  const levels = [];
  for (const n of LEVELS) {
    levels.push(await level(gw, evaluator, manifest, n));
    process.stderr.write(`${JSON.stringify(levels.at(-1))}\n`);
  }
  const one = levels.find((l) => l.concurrency === 1);
  const top = levels.at(-1)!;
  process.stdout.write(
    `${JSON.stringify({
      bench: 'gateway-concurrency',
      levels,
      p95RatioTopToOne: one ? Math.round((top.timeToResultMs.p95 / one.timeToResultMs.p95) * 100) / 100 : null,
      targetP95Ratio: 4,
      // If each of the top level's sessions costs the CPU one alone did, the last one cannot end
      // before all that work is done on this machine's cores: the ratio no scheduling can beat.
      p95RatioCpuFloor: one
        ? Math.round(((top.concurrency * one.cpuSecondsPerSession) / cpus().length / (one.timeToResultMs.p95 / 1000)) * 100) / 100
        : null,
    })}\n`,
  );
} finally {
  await gw.dispose();
  await evaluator.stop();
}
