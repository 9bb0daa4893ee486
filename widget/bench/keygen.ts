/**
 * In-page key generation against tfhe's own time, in headless Chromium (design target: no more
 * than tfhe's own time + 10 %). "In page" is the element's key-generation stage as the applicant
 * meets it: worker start, wasm fetch and compile, the high-level client key, its compact public
 * key, the shortint client key cut out of it, the compressed server key, serialization and
 * hand-over to the page. "tfhe's own" is the bare shortint path (client key, compressed server
 * key, serialization) in a worker with the wasm already loaded, so the ratio also counts what the
 * public key adds. Each run uses a fresh page. Needs `npm run build:widget` output.
 */
import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../../tests/e2e/support/browser.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Only these repository folders are served. */
const SERVED = ['dist/widget/', 'node_modules/tfhe/', 'model/artifacts/', 'widget/bench/pages/'];
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
};
const RUNS = Number(process.env.BENCH_KEYGEN_RUNS ?? 3);

function serveRepo(): Promise<{ server: Server; origin: string }> {
  const server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(/^\/+/, '');
    if (req.method !== 'GET' || !SERVED.some((p) => path.startsWith(p))) {
      res.writeHead(404).end();
      return;
    }
    try {
      const body = await readFile(join(ROOT, path));
      res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve({ server, origin: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}` });
    }),
  );
}

/** A bench page's `window.benchResult`: `ms` and any other figures, or an error. */
async function pageResult(browser: Browser, url: string): Promise<{ ms: number } & Record<string, unknown>> {
  const page = await browser.newPage();
  try {
    await page.goto(url);
    const handle = await page.waitForFunction(() => (window as { benchResult?: unknown }).benchResult, undefined, {
      timeout: 180_000,
    });
    const result = (await handle.jsonValue()) as { ms?: number; error?: string };
    if (result.ms === undefined) throw new Error(`${url}: ${result.error ?? 'no result'}`);
    return result as { ms: number } & Record<string, unknown>;
  } finally {
    await page.close();
  }
}

const timeRun = async (browser: Browser, url: string): Promise<number> => (await pageResult(browser, url)).ms;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function benchKeygen(): Promise<Record<string, unknown>> {
  const { server, origin } = await serveRepo();
  const browser = await launchChromium();
  try {
    const own: number[] = [];
    const inPage: number[] = [];
    const cold: number[] = [];
    // Interleaved, so a change in machine load hits every series alike.
    for (let i = 0; i < RUNS; i++) {
      own.push(await timeRun(browser, `${origin}/widget/bench/pages/tfhe-own.html`));
      inPage.push(await timeRun(browser, `${origin}/widget/bench/pages/element.html?warm`));
      cold.push(await timeRun(browser, `${origin}/widget/bench/pages/element.html`));
    }
    const ratio = median(inPage) / median(own);
    // Milliseconds against seconds: measured on their own, or the server key's noise hides them.
    const { ms: publicKeyAddsMs, ...publicKey } = await pageResult(browser, `${origin}/widget/bench/pages/public-key.html`);
    return {
      runs: RUNS,
      note: 'inPage: worker and wasm loaded while the applicant fills the form (the element does this on first focus); inPageCold: their loading included',
      tfheOwnMs: own.map(Math.round),
      inPageMs: inPage.map(Math.round),
      inPageColdMs: cold.map(Math.round),
      medianTfheOwnMs: Math.round(median(own)),
      medianInPageMs: Math.round(median(inPage)),
      medianInPageColdMs: Math.round(median(cold)),
      inPageOverTfhe: Number(ratio.toFixed(3)),
      target: 'inPageOverTfhe ≤ 1.10',
      withinTarget: ratio <= 1.1,
      publicKey: {
        note: 'the high-level client key, its compact public key and the cut shortint key, against a bare shortint client key (medians, ms)',
        addsMs: Number(publicKeyAddsMs.toFixed(1)),
        ...publicKey,
      },
    };
  } finally {
    await browser.close();
    server.close();
  }
}
