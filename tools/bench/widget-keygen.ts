/**
 * In-page key generation against tfhe's own time, in headless Chromium (design target: no more
 * than tfhe's own time + 10 %). "In page" is the element's key-generation stage as the applicant
 * meets it: worker start, wasm fetch and compile, the high-level client key, its compact public
 * key, the shortint client key cut out of it, the compressed server key, serialization and
 * hand-over to the page. "tfhe's own" is the bare shortint path (client key, compressed server
 * key, serialization) in a worker with the wasm already loaded, so the ratio also counts what the
 * public key adds. Each run uses a fresh page. Needs `npm run build:widget` output.
 *
 * The server key alone, the engine's generator (`fhe/keygen`, the element's default) against
 * tfhe's own `new_compressed_server_key`: `ownMs`, `tfheMs`, `ratio` (one page, the element's
 * crypto worker, alternating) and `nodeOwnMs`, `nodeTfheMs` (Node, node-tfhe 1.6.1).
 */
import { createServer, type Server } from 'node:http';
import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import * as tfheNode from 'node-tfhe';
import { generateCompressedServerKey } from '../../fhe/index.ts';
import { launchChromium } from '../../tests/e2e/support/browser.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Only these repository folders are served. */
const SERVED = ['dist/widget/', 'node_modules/tfhe/', 'model/artifacts/', 'tools/bench/widget-pages/'];
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
};
const RUNS = Number(process.env.BENCH_KEYGEN_RUNS ?? 3);

export function serveRepo(): Promise<{ server: Server; origin: string }> {
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
async function pageResult(browser: Browser, url: string, timeout = 180_000): Promise<{ ms: number } & Record<string, unknown>> {
  const page = await browser.newPage();
  try {
    await page.goto(url);
    const handle = await page.waitForFunction(() => (window as { benchResult?: unknown }).benchResult, undefined, {
      timeout,
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

/** The module build's crypto worker chunk (its name carries a content hash). */
function builtWorkerPath(): string {
  const assets = join(ROOT, 'dist/widget/module/assets');
  const name = readdirSync(assets).find((f) => /^crypto\.worker.*\.js$/.test(f));
  if (!name) throw new Error('no crypto worker chunk in dist/widget/module/assets: run npm run build:widget');
  return `/dist/widget/module/assets/${name}`;
}

/**
 * The engine's generator (`fhe/keygen`) against tfhe's own, for the same client key: in Chromium
 * (the element's crypto worker, one page, alternating) and in Node (node-tfhe 1.6.1 against
 * `generateCompressedServerKey`, alternating, wall and process-CPU time).
 */
export async function benchServerKeyGenerators(browser: Browser, origin: string): Promise<Record<string, unknown>> {
  // Each run makes two keys (seconds each; minutes on a loaded machine).
  const page = await pageResult(
    browser,
    `${origin}/tools/bench/widget-pages/keygen-compare.html?runs=${RUNS}&worker=${builtWorkerPath()}`,
    RUNS * 240_000,
  );
  const ownMs = page.own as number[];
  const tfheMs = page.tfhe as number[];
  const ck = tfheNode.Shortint.new_client_key(
    new tfheNode.ShortintParameters(tfheNode.ShortintParametersName.PARAM_MESSAGE_2_CARRY_2_KS_PBS_TUNIFORM_2M128),
  );
  const clientKeyBytes = tfheNode.Shortint.serialize_client_key(ck);
  const nodeOwn: number[] = [];
  const nodeOwnCpu: number[] = [];
  const nodeTfhe: number[] = [];
  const nodeTfheCpu: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    for (const which of i % 2 === 0 ? ['own', 'tfhe'] : ['tfhe', 'own']) {
      const cpu = process.cpuUsage();
      const start = performance.now();
      if (which === 'own') {
        generateCompressedServerKey(clientKeyBytes);
        nodeOwn.push(performance.now() - start);
        const used = process.cpuUsage(cpu);
        nodeOwnCpu.push((used.user + used.system) / 1000);
      } else {
        const sk = tfheNode.Shortint.new_compressed_server_key(ck);
        tfheNode.Shortint.serialize_compressed_server_key(sk);
        sk.free();
        nodeTfhe.push(performance.now() - start);
        const used = process.cpuUsage(cpu);
        nodeTfheCpu.push((used.user + used.system) / 1000);
      }
    }
  }
  clientKeyBytes.fill(0);
  ck.free();
  const round = (xs: number[]) => xs.map(Math.round);
  return {
    note: 'compressed server key (2_2 TUniform) only, after the client and public keys; Chromium: the crypto worker of dist/widget/module, one page, engine and tfhe alternating',
    ownMs: Math.round(median(ownMs)),
    tfheMs: Math.round(median(tfheMs)),
    ratio: Number((median(ownMs) / median(tfheMs)).toFixed(3)),
    ratioTarget: 'ratio ≤ 0.2 (stretch ≤ 0.1)',
    nodeOwnMs: Math.round(median(nodeOwn)),
    nodeOwnCpuMs: Math.round(median(nodeOwnCpu)),
    nodeTfheMs: Math.round(median(nodeTfhe)),
    nodeTfheCpuMs: Math.round(median(nodeTfheCpu)),
    // Process CPU time, not wall: what a loaded machine changes least.
    nodeCpuRatio: Number((median(nodeOwnCpu) / median(nodeTfheCpu)).toFixed(3)),
    runs: { ownMs: round(ownMs), tfheMs: round(tfheMs), nodeOwnMs: round(nodeOwn), nodeTfheMs: round(nodeTfhe) },
  };
}

export async function benchKeygen(): Promise<Record<string, unknown>> {
  const { server, origin } = await serveRepo();
  const browser = await launchChromium();
  try {
    const own: number[] = [];
    const inPage: number[] = [];
    const cold: number[] = [];
    // Interleaved, so a change in machine load hits every series alike.
    for (let i = 0; i < RUNS; i++) {
      own.push(await timeRun(browser, `${origin}/tools/bench/widget-pages/tfhe-own.html`));
      inPage.push(await timeRun(browser, `${origin}/tools/bench/widget-pages/element.html?warm`));
      cold.push(await timeRun(browser, `${origin}/tools/bench/widget-pages/element.html`));
    }
    const ratio = median(inPage) / median(own);
    // Milliseconds against seconds: measured on their own, or the server key's noise hides them.
    const { ms: publicKeyAddsMs, ...publicKey } = await pageResult(browser, `${origin}/tools/bench/widget-pages/public-key.html`);
    const generators = await benchServerKeyGenerators(browser, origin);
    return {
      ...generators,
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
