/**
 * What `wrangler dev` needs for the demo: the development tenant of `gateway/wrangler.toml`
 * with the demo page's actual origin allowed and the demo bank backend's party keys added, the
 * evaluator's URL, and a shared secret made fresh for each start. They reach wrangler through an
 * env file (mode 0600) rather than `--var` flags, so the secret never appears in a process listing.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { z } from 'zod';
import { TenantsConfig, type Tenant } from '../protocol/tenants.ts';
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

/** The secret party keys of the demo's bank and bureau backends. */
export interface PartyKeys {
  bank: string;
  bureau: string;
}

/** Fresh party keys for one start (`sk_…`, 256 random bits each), like the shared secret. */
export function newPartyKeys(): PartyKeys {
  return { bank: `sk_demo_bank_${randomBytes(32).toString('hex')}`, bureau: `sk_demo_bureau_${randomBytes(32).toString('hex')}` };
}

const sha256Hex = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * The tenants with the demo tenant (the first with `demo: true`: its session token may upload
 * the bank's and the bureau's inputs, as the widget's demo panels do) allowing `origins`, and,
 * when given, accepting `partyKeys` (stored as hashes, as the gateway requires) besides its own.
 */
export function demoTenant(origins: readonly string[], tenants = developmentTenants(), partyKeys?: PartyKeys): DemoTenant {
  const demo = tenants.find((t) => t.demo);
  if (!demo) throw new Error(`${WRANGLER_CONFIG} has no tenant with "demo": true in [vars].TENANTS`);
  const allowed = [...new Set([...demo.allowedOrigins, ...origins])];
  const partyKeyHashes = partyKeys
    ? {
        bank: [...demo.partyKeyHashes.bank, sha256Hex(partyKeys.bank)],
        bureau: [...demo.partyKeyHashes.bureau, sha256Hex(partyKeys.bureau)],
      }
    : demo.partyKeyHashes;
  return {
    tenants: tenants.map((t) => (t === demo ? { ...t, allowedOrigins: allowed, partyKeyHashes } : t)),
    publishableKey: demo.publishableKeys[0]!,
  };
}

/** Where {@link writePartyKeyFiles} puts each key: `dir/<party>.key`. */
export function partyKeyFiles(dir: string): Record<keyof PartyKeys, string> {
  return { bank: join(dir, 'bank.key'), bureau: join(dir, 'bureau.key') };
}

/**
 * Writes each party key to its own file (mode 0600), for `npm run party -- --party-key-file`
 * by hand: a key on a command line would show in every process listing.
 */
export function writePartyKeyFiles(dir: string, keys: PartyKeys): Record<keyof PartyKeys, string> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const files = partyKeyFiles(dir);
  for (const party of ['bank', 'bureau'] as const) {
    writeFileSync(files[party], `${keys[party]}\n`, { mode: 0o600 });
    chmodSync(files[party], 0o600);
  }
  return files;
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
