/**
 * The React wrapper as shipped (`dist/widget/module/blind-score-react.js`, built by `npm run
 * build:widget`) in Chromium with React 19: props reach the element's properties and attributes,
 * and the element's events reach the `on…` callbacks. The host page bundles React itself; the
 * wrapper's bare `react` import resolves, through an import map, to that same React.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname, join } from 'node:path';
import { build } from 'esbuild';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { launchChromium } from './support/browser.ts';

const ORIGIN = 'http://react-host.test';
const MODULE_BUILD = join(process.cwd(), 'dist', 'widget', 'module');
let browser: Browser;

/** The host's code: React and ReactDOM bundled, the wrapper loaded beside the element build. */
async function hostBundle(): Promise<string> {
  const page = `
    import * as React from 'react';
    import { createRoot } from 'react-dom/client';
    globalThis.__hostReact = React;
    const { BlindScore } = await import('./blind-score-react.js');
    globalThis.__events = [];
    createRoot(document.getElementById('root')).render(
      React.createElement(BlindScore, {
        gatewayUrl: 'https://gateway.react-host.test',
        publishableKey: 'pk_test_react_host_0123456789',
        mode: 'demo',
        onError: (e) => globalThis.__events.push({ type: e.type, code: e.detail.code }),
      }),
    );`;
  const result = await build({
    stdin: { contents: page, resolveDir: process.cwd(), loader: 'js' },
    bundle: true,
    format: 'esm',
    write: false,
    external: ['./blind-score-react.js'],
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

/** `react` for the wrapper's bare import: the host's own React instance, with its named exports. */
function reactShim(): string {
  const names = Object.keys(createRequire(import.meta.url)('react') as object).filter((n) => /^[A-Za-z_$][\w$]*$/.test(n));
  return `const React = globalThis.__hostReact;\nexport default React;\nexport const { ${names.join(', ')} } = React;\n`;
}

beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(() => browser?.close());

test('props become the element’s properties, events reach the callbacks', async () => {
  const files: Record<string, string> = {
    '/': `<!doctype html><html lang="en"><head><script type="importmap">{"imports":{"react":"/react.js"}}</script>
      <script type="module" src="/host.js"></script></head><body><div id="root"></div></body></html>`,
    '/host.js': await hostBundle(),
    '/react.js': reactShim(),
  };
  const page = await browser.newPage();
  await page.route(`${ORIGIN}/**`, (route) => {
    const path = new URL(route.request().url()).pathname;
    const body = files[path] ?? readFileSync(join(MODULE_BUILD, path));
    const type = path === '/' ? 'text/html' : extname(path) === '.js' ? 'text/javascript' : 'application/octet-stream';
    return route.fulfill({ status: 200, contentType: type, body });
  });
  // The gateway is unreachable: the element's manifest request fails and it reports the error.
  await page.route('https://gateway.react-host.test/**', (route) => route.abort('connectionrefused'));
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${ORIGIN}/`);

  const element = page.locator('blind-score');
  await expect
    .poll(() => element.evaluate((el) => (el as HTMLElement & { gatewayUrl: string }).gatewayUrl), { timeout: 30_000 })
    .toBe('https://gateway.react-host.test');
  expect(await element.evaluate((el) => (el as HTMLElement & { publishableKey: string }).publishableKey)).toBe(
    'pk_test_react_host_0123456789',
  );
  expect(await element.getAttribute('mode')).toBe('demo');
  await expect
    .poll(() => page.evaluate(() => (globalThis as unknown as { __events: unknown[] }).__events), { timeout: 30_000 })
    .toEqual([{ type: 'blind-score:error', code: 'network_error' }]);
  expect(errors).toEqual([]);
  await page.close();
});
