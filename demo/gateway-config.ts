/**
 * What `wrangler dev` needs for the demo: the development tenant of `gateway/wrangler.toml`
 * with the demo page's actual origin allowed, the evaluator's URL, and a shared secret made
 * fresh for each start. They reach wrangler through an env file (mode 0600) rather than `--var`
 * flags, so the secret never appears in a process listing.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { z } from 'zod';
import { TenantsConfig, type Tenant } from '../gateway/src/config/tenants.ts';
import { ROOT } from './options.ts';

export const WRANGLER_CONFIG = join(ROOT, 'gateway', 'wrangler.toml');

const DevVars = z.object({ vars: z.object({ TENANTS: z.string() }).loose() }).loose();

/** The development tenants of `gateway/wrangler.toml` (`[vars].TENANTS`), validated as the gateway does. */
export function developmentTenants(configPath = WRANGLER_CONFIG): Tenant[] {
  const config = DevVars.parse(parseToml(readFileSync(configPath, 'utf8')));
  return TenantsConfig.parse(JSON.parse(config.vars.TENANTS));
}

export interface DemoTenant {
  tenants: Tenant[];
  /** The demo tenant's publishable key, for the page's `publishable-key` attribute. */
  publishableKey: string;
}

/**
 * The tenants with the demo tenant (the first with `demo: true`: its session token may upload
 * the bank's and the bureau's inputs, as the widget's demo panels do) allowing `origins`.
 */
export function demoTenant(origins: readonly string[], tenants = developmentTenants()): DemoTenant {
  const demo = tenants.find((t) => t.demo);
  if (!demo) throw new Error(`${WRANGLER_CONFIG} has no tenant with "demo": true in [vars].TENANTS`);
  const allowed = [...new Set([...demo.allowedOrigins, ...origins])];
  return {
    tenants: tenants.map((t) => (t === demo ? { ...t, allowedOrigins: allowed } : t)),
    publishableKey: demo.publishableKeys[0]!,
  };
}

/** A shared secret for the gateway and the evaluator, new for each start. */
export function newSharedSecret(): string {
  return randomBytes(32).toString('hex');
}

export interface GatewayVars {
  evaluatorUrl: string;
  sharedSecret: string;
  tenants: Tenant[];
}

/**
 * Writes the env file wrangler loads with `--env-file` (its values override `[vars]`). Values
 * are single-quoted (literal in dotenv); the JSON escapes any single quote as `\u0027`.
 */
export function writeGatewayEnvFile(path: string, vars: GatewayVars): void {
  const tenants = JSON.stringify(vars.tenants).replaceAll("'", '\\u0027');
  const lines = [
    '# Written by demo/start.ts for wrangler dev; overwritten at each start.',
    `EVALUATOR_URL='${vars.evaluatorUrl}'`,
    `EVALUATOR_SHARED_SECRET='${vars.sharedSecret}'`,
    `TENANTS='${tenants}'`,
  ];
  writeFileSync(path, `${lines.join('\n')}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
}
