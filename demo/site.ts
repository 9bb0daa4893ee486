/**
 * The demo bank site: built with vite and served by vite's preview server (a static server,
 * no dev client), the way a bank would host it. The widget is the module build of
 * `widget/vite.config.ts`, copied under `/blind-score/` of the site and loaded with one
 * `<script type="module">` and one `<blind-score>` tag, as the widget's README tells customers.
 * Every response carries a strict Content-Security-Policy that allows only this origin, wasm
 * compilation, and the gateway. The same server answers the bank's own backend routes under
 * `/api/` (`bank-backend/`), as a bank's web server would.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getRequestListener } from '@hono/node-server';
import type { Hono } from 'hono';
import { build, preview, type Plugin, type PreviewServer } from 'vite';
import { ROOT } from './options.ts';
import { HOST } from './ports.ts';

export const SITE_ROOT = join(ROOT, 'demo', 'site');
const WIDGET_CONFIG = join(ROOT, 'widget', 'vite.config.ts');

/**
 * The site's pages (vite inputs): the demo-mode landing page, and the applicant-mode page whose
 * bank and bureau inputs come from the bank backend.
 */
export const PAGES = { index: 'index.html', applicant: 'applicant.html' } as const;

/** Values the pages embed, exactly where a bank would write them in its HTML. */
export interface SiteSettings {
  gatewayUrl: string;
  publishableKey: string;
}

/**
 * `{{> part}}` in the pages' HTML → `site/partials/part.html` (the head, header and footer every
 * page shares), then `{{name}}` → the setting; an unknown name fails the build.
 */
function pageSettings(settings: SiteSettings): Plugin {
  const values: Record<string, string> = { ...settings };
  return {
    name: 'blindscore-demo-settings',
    transformIndexHtml: {
      order: 'pre',
      handler: (html, ctx) =>
        html
          .replace(/\{\{>\s*([\w-]+)\s*\}\}/g, (_, part: string) => readFileSync(join(SITE_ROOT, 'partials', `${part}.html`), 'utf8'))
          .replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
            const value = values[name];
            if (value === undefined) throw new Error(`${ctx.path}: unknown setting {{${name}}}`);
            return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
          }),
    },
  };
}

/** The policy of every response: nothing but this origin, wasm compilation and the gateway. */
export function contentSecurityPolicy(gatewayOrigin: string): string {
  return [
    "default-src 'none'",
    "script-src 'self' 'wasm-unsafe-eval'",
    "worker-src 'self'",
    `connect-src 'self' ${gatewayOrigin}`,
    "style-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export interface SiteBuild {
  /** The served directory. */
  outDir: string;
}

/** Builds the widget's module bundle and the pages into `runDir/site`. */
export async function buildSite(runDir: string, settings: SiteSettings): Promise<SiteBuild> {
  const publicDir = join(runDir, 'public');
  const outDir = join(runDir, 'site');
  // The widget's own build, unchanged, only written where this site serves it.
  await build({
    configFile: WIDGET_CONFIG,
    mode: 'production',
    logLevel: 'warn',
    build: {
      outDir: join(publicDir, 'blind-score'),
      // A slow plugin on a busy machine is not the person's problem.
      rolldownOptions: { checks: { bundlerTimings: false } },
    },
  });
  await build({
    configFile: false,
    root: SITE_ROOT,
    base: '/',
    publicDir,
    appType: 'mpa',
    logLevel: 'warn',
    plugins: [pageSettings(settings)],
    build: {
      outDir,
      emptyOutDir: true,
      target: 'es2022',
      // The polyfill would be an inline script, which the policy forbids.
      modulePreload: { polyfill: false },
      rolldownOptions: { input: Object.fromEntries(Object.entries(PAGES).map(([name, file]) => [name, join(SITE_ROOT, file)])) },
    },
  });
  return { outDir };
}

/** Answers `/api/…` with the bank's backend, ahead of the static files. */
function backendRoutes(backend: Hono): Plugin {
  const listener = getRequestListener(backend.fetch);
  return {
    name: 'blindscore-demo-bank-backend',
    configurePreviewServer(server) {
      server.middlewares.use((req, res, next) => {
        if (req.url?.startsWith('/api/')) void listener(req, res);
        else next();
      });
    },
  };
}

/**
 * Serves a built site on 127.0.0.1:`port` with the security headers a bank would send, and the
 * bank's backend routes when given.
 */
export async function serveSite(site: SiteBuild, port: number, gatewayOrigin: string, backend?: Hono): Promise<PreviewServer> {
  return preview({
    configFile: false,
    root: SITE_ROOT,
    appType: 'mpa',
    logLevel: 'warn',
    plugins: backend ? [backendRoutes(backend)] : [],
    build: { outDir: site.outDir },
    preview: {
      host: HOST,
      port,
      strictPort: true,
      open: false,
      headers: {
        'Content-Security-Policy': contentSecurityPolicy(gatewayOrigin),
        'X-Content-Type-Options': 'nosniff',
        'Referrer-Policy': 'no-referrer',
        'Cross-Origin-Opener-Policy': 'same-origin',
      },
    },
  });
}
