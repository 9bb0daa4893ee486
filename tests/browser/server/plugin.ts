/**
 * Test-runner additions: the test gateway and the oracle mounted in the runner's HTTP server,
 * and a `screenshot` command that saves PNGs of the page under `tests/browser/.screenshots/`.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getRequestListener } from '@hono/node-server';
import type { Hono } from 'hono';
import { loadModel } from '../../../model/private-model.ts';
import { loadPublicKeyTestKeys } from '../../support/tfhe-keys.ts';
import { createOracle, ORACLE_PREFIX } from './oracle.ts';
import { createTestGateway, GATEWAY_PREFIX } from './test-gateway.ts';

const ARTIFACTS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'model', 'artifacts');

/** The committed demo model, loaded and checked as the evaluator loads it. */
const demoModel = () =>
  loadModel(readFileSync(join(ARTIFACTS, 'manifest.json'), 'utf8'), readFileSync(join(ARTIFACTS, 'tree.json'), 'utf8'));

/**
 * 512 bytes from the middle of the cached tuniform client key's GLWE secret key (the high-level
 * key and the shortint key cut out of it both open with u32 tag, Vec<u64> GLWE key of k·N = 2048
 * words, …), for the test gateway's check that no upload carries it.
 */
function secretNeedle(): Uint8Array {
  const GLWE_KEY_START = 4 + 8;
  const offset = GLWE_KEY_START + 1024 * 8;
  return loadPublicKeyTestKeys('tuniform').hlClientKeyBytes.slice(offset, offset + 512);
}

export const SCREENSHOT_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '.screenshots');

export interface KoaContext {
  path: string;
  req: import('node:http').IncomingMessage;
  res: import('node:http').ServerResponse;
  respond?: boolean;
}
export type KoaMiddleware = (ctx: KoaContext, next: () => Promise<unknown>) => Promise<unknown>;

/** Koa middleware that hands `/gw/…` and `/oracle/…` to their Hono apps, real HTTP end to end. */
export async function testServerMiddleware(): Promise<KoaMiddleware> {
  const model = await demoModel();
  const mounts: [string, Hono][] = [
    [GATEWAY_PREFIX, createTestGateway(model, { secretNeedles: [secretNeedle()] })],
    [ORACLE_PREFIX, createOracle(model.manifest)],
  ];
  const listeners = mounts.map(([prefix, app]) => [prefix, getRequestListener(app.fetch)] as const);
  return async function testServer(ctx, next) {
    const hit = listeners.find(([prefix]) => ctx.path === prefix || ctx.path.startsWith(`${prefix}/`));
    if (!hit) return next();
    ctx.respond = false;
    await hit[1](ctx.req, ctx.res);
  };
}

interface ScreenshotPayload {
  name: string;
  /** Page-coordinate box to capture; the whole viewport when absent. */
  clip?: { x: number; y: number; width: number; height: number };
}

interface CommandArgs {
  command: string;
  payload?: unknown;
  session: { id: string; browser: { getPage?: (id: string) => { screenshot(o: object): Promise<unknown> } } };
}

export function screenshotPlugin() {
  return {
    name: 'blind-score-screenshot',
    async executeCommand({ command, payload, session }: CommandArgs): Promise<unknown> {
      if (command !== 'screenshot') return undefined;
      const p = payload as ScreenshotPayload;
      if (!/^[a-z0-9-]{1,64}$/.test(p?.name ?? '')) throw new Error('screenshot name must be kebab-case');
      const page = session.browser.getPage?.(session.id);
      if (!page) throw new Error('this browser launcher cannot take screenshots');
      mkdirSync(SCREENSHOT_DIR, { recursive: true });
      const path = join(SCREENSHOT_DIR, `${p.name}.png`);
      await page.screenshot({ path, ...(p.clip ? { clip: p.clip } : {}) });
      return { path };
    },
  };
}

const DIST = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'dist', 'widget');

/** Content-Security-Policies the CSP suite serves the built bundles under. */
export const CSP_POLICIES = {
  /** What a strict bank page would send: no inline script, no eval, only wasm compilation. */
  strict:
    "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'; report-uri /csp-reports",
  /** The same without `'wasm-unsafe-eval'`: the widget must fail cleanly, proving the policy bites. */
  'no-wasm':
    "default-src 'none'; script-src 'self'; worker-src 'self'; connect-src 'self'; style-src 'self'; base-uri 'none'; report-uri /csp-reports",
} as const;

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
};

/**
 * Serves `dist/widget/<build>/…` under `/csp/<build>/<policy>/…` with that policy on every
 * response (page, bundle, worker script, wasm), plus a host page with no inline script, and
 * collects violation reports at `/csp-reports` (`GET` lists them).
 */
export function cspMiddleware(): KoaMiddleware {
  const reports: unknown[] = [];
  return async function csp(ctx, next) {
    if (ctx.path === '/csp-reports') {
      ctx.respond = false;
      if (ctx.req.method === 'POST') {
        let body = '';
        for await (const chunk of ctx.req) body += String(chunk);
        reports.push(JSON.parse(body || 'null'));
        ctx.res.writeHead(204).end();
      } else {
        ctx.res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(reports));
      }
      return;
    }
    const m = /^\/csp\/(module|drop-in)\/(strict|no-wasm)\/(.*)$/.exec(ctx.path);
    if (!m) return next();
    const [, build, policy, file] = m as unknown as [string, 'module' | 'drop-in', keyof typeof CSP_POLICIES, string];
    ctx.respond = false;
    const headers = { 'content-security-policy': CSP_POLICIES[policy], 'cache-control': 'no-store' };
    if (file === 'index.html') {
      ctx.res.writeHead(200, { ...headers, 'content-type': CONTENT_TYPES['.html'] }).end(hostPage());
      return;
    }
    const path = join(DIST, build, file);
    if (file.includes('..') || !existsSync(path)) {
      ctx.res.writeHead(404, headers).end();
      return;
    }
    const type = CONTENT_TYPES[extname(path)] ?? 'application/octet-stream';
    ctx.res.writeHead(200, { ...headers, 'content-type': type }).end(readFileSync(path));
  };
}

/** The embedding snippet of widget/README.md, as a bank page would carry it. */
function hostPage(): string {
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>Bank page under a strict CSP</title>
    <script type="module" src="blind-score.js"></script>
  </head>
  <body>
    <blind-score gateway-url="/gw" publishable-key="pk_test_demo" mode="demo" cache-keys></blind-score>
  </body>
</html>
`;
}
