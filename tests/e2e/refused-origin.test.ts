/**
 * A page on an origin its tenant does not allow, in Chromium against the real gateway (workerd
 * through wrangler, no evaluator needed): the gateway's refusal carries the CORS headers the page
 * needs to read it, so the element reports `origin_not_allowed` naming the origin instead of a
 * network failure, and its error view says so. (The headers themselves: tests/workerd/auth.test.ts.)
 * And an error found while the page loads reaches a listener that a later script adds.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startGateway, type TestGateway } from '../workerd/support/gateway.ts';
import { KEYS } from '../workerd/support/tenants.ts';
import { launchChromium } from './support/browser.ts';

const MODULE_BUILD = join(process.cwd(), 'dist', 'widget', 'module');

let browser: Browser;
let gateway: TestGateway;
let site: Server;
/** The bank page's origin: a real loopback server (the browser's local-network rules apply), allowed by no tenant. */
let refusedOrigin: string;

/** Serves `page` at `/` and the module build's files beside it. */
function serve(page: () => string): Promise<Server> {
  const server = createServer((req, res) => {
    const path = normalize(new URL(req.url ?? '/', 'http://x').pathname);
    try {
      const body = path === '/' ? page() : readFileSync(join(MODULE_BUILD, path));
      const type =
        path === '/'
          ? 'text/html'
          : extname(path) === '.js'
            ? 'text/javascript'
            : extname(path) === '.wasm'
              ? 'application/wasm'
              : 'application/octet-stream';
      res.writeHead(200, { 'content-type': type }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

beforeAll(async () => {
  [browser, gateway] = await Promise.all([launchChromium(), startGateway()]);
  site = await serve(() => bankPage);
  refusedOrigin = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await browser?.close();
  await gateway?.dispose();
  await new Promise((r) => site?.close(r));
});

let bankPage = '';

test('a refused origin reads origin_not_allowed, with its origin named, from the element', async () => {
  const page = await browser.newPage();
  bankPage = `<!doctype html><html lang="en"><head><script type="module" src="/blind-score.js"></script></head><body>
    <blind-score gateway-url="${gateway.url.origin}" publishable-key="${KEYS.acme.publishable}" mode="applicant"></blind-score>
    <script type="module">
      globalThis.__errors = [];
      document.querySelector('blind-score').addEventListener('blind-score:error', (e) => globalThis.__errors.push(e.detail));
    </script></body></html>`;
  const consoleErrors: string[] = [];
  page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
  await page.goto(`${refusedOrigin}/`);

  const code = page.locator('blind-score').locator('[part~="error-code"]');
  await expect.poll(() => code.textContent().catch(() => null), { timeout: 60_000 }).toContain('origin_not_allowed');
  const message = await page.locator('blind-score').locator('[part~="error-message"]').textContent();
  expect(message).toContain(refusedOrigin);
  const events = (await page.evaluate(() => (globalThis as unknown as { __errors: unknown[] }).__errors)) as {
    code: string;
    message: string;
  }[];
  expect(events).toHaveLength(1);
  expect(events[0]).toMatchObject({ code: 'origin_not_allowed', retriable: false });
  expect(events[0]!.message).toContain(refusedOrigin);
  // Chromium logs the 403 itself; what it must not log is a CORS failure.
  expect(consoleErrors.filter((e) => /CORS|Access-Control/i.test(e))).toEqual([]);
  await page.close();
});

test('an error found at load reaches a listener that a later script of the page adds', async () => {
  const page = await browser.newPage();
  // Plain http to a host that is not loopback: refused at once, with no request, while the page loads.
  bankPage = `<!doctype html><html lang="en"><head><script type="module" src="/blind-score.js"></script></head><body>
    <blind-score gateway-url="http://bank.example" publishable-key="${KEYS.acme.publishable}" mode="applicant"></blind-score>
    <script type="module">
      globalThis.__errors = [];
      document.querySelector('blind-score').addEventListener('blind-score:error', (e) => globalThis.__errors.push(e.detail.code));
    </script></body></html>`;
  await page.goto(`${refusedOrigin}/`);
  await expect
    .poll(() => page.locator('blind-score').locator('[part~="error-code"]').textContent(), { timeout: 30_000 })
    .toContain('insecure_gateway');
  await expect.poll(() => page.evaluate(() => (globalThis as unknown as { __errors: string[] }).__errors)).toEqual(['insecure_gateway']);
  await page.close();
});
