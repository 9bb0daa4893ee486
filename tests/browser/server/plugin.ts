/**
 * Test-runner additions: the test gateway and the oracle mounted in the runner's HTTP server,
 * and a `screenshot` command that saves PNGs of the page under `tests/browser/.screenshots/`.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getRequestListener } from '@hono/node-server';
import type { Hono } from 'hono';
import { fixtureModel } from './fixture-model.ts';
import { createOracle, ORACLE_PREFIX } from './oracle.ts';
import { createTestGateway, GATEWAY_PREFIX } from './test-gateway.ts';

export const SCREENSHOT_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '.screenshots');

interface KoaContext {
  path: string;
  req: import('node:http').IncomingMessage;
  res: import('node:http').ServerResponse;
  respond?: boolean;
}
type KoaMiddleware = (ctx: KoaContext, next: () => Promise<unknown>) => Promise<unknown>;

/** Koa middleware that hands `/gw/…` and `/oracle/…` to their Hono apps, real HTTP end to end. */
export async function testServerMiddleware(): Promise<KoaMiddleware> {
  const mounts: [string, Hono][] = [
    [GATEWAY_PREFIX, createTestGateway(await fixtureModel())],
    [ORACLE_PREFIX, createOracle()],
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
