/**
 * The tenants configuration's schema: each bank that embeds `<blind-score>`, as the gateway's
 * `TENANTS` binding holds it (a JSON secret in production, `[vars]` in local development) and as
 * `npm start` writes it for the demo (`demo/gateway-config.ts`).
 *
 * A tenant has publishable keys (public, for browsers, checked together with the request's
 * `Origin`), secret party keys for its bank and bureau backends (stored only as SHA-256 hashes),
 * a demo flag (the session token may then upload every party's inputs, as the widget's demo
 * panels encrypt bank and bureau in the page), session TTL bounds and rate limits.
 */
import { z } from 'zod';
import { Appearance } from './appearance.ts';
import { RUNS_PER_SESSION, SESSION_TTL_SECONDS } from './public-api.ts';

/** An exact web origin (`scheme://host[:port]`), the form browsers send in `Origin`. */
const Origin = z.string().refine((s) => {
  // Exact origins only: browsers never send wildcards, so a pattern here would match nothing.
  if (!/^https?:\/\/[a-z0-9.\-[\]:]+$/.test(s)) return false;
  try {
    return new URL(s).origin === s;
  } catch {
    return false;
  }
}, 'must be an http(s) origin such as https://bank.example (lower case, no path, no wildcard)');

/** Default caps on sessions holding a server key (about what two evaluator instances hold). */
export const ACTIVE_SESSIONS_DEFAULT = { perTenant: 40, perIp: 10 } as const;

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be a lowercase hex SHA-256');

export const TenantConfig = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/),
    name: z.string().min(1).max(200).optional(),
    /** Publishable keys (`pk_…`), public by design: they only name the tenant. */
    publishableKeys: z.array(z.string().regex(/^pk_[A-Za-z0-9_]{16,128}$/)).min(1),
    /** Origins allowed to call the API from a browser. */
    allowedOrigins: z.array(Origin).min(1),
    /** SHA-256 (hex) of each secret party key (`sk_…`, ≥ 32 characters) of the bank and bureau. */
    partyKeyHashes: z
      .object({ bank: z.array(Sha256).default([]), bureau: z.array(Sha256).default([]) })
      .strict()
      .default({ bank: [], bureau: [] }),
    /** Session tokens may upload every party's inputs (demo panels in the widget). */
    demo: z.boolean().default(false),
    sessionTtlSeconds: z
      .object({
        default: z.number().int().min(SESSION_TTL_SECONDS.min).max(SESSION_TTL_SECONDS.max).default(SESSION_TTL_SECONDS.default),
        max: z.number().int().min(SESSION_TTL_SECONDS.min).max(SESSION_TTL_SECONDS.max).default(SESSION_TTL_SECONDS.default),
      })
      .strict()
      .refine((t) => t.default <= t.max, 'default must not exceed max')
      .default({ default: SESSION_TTL_SECONDS.default, max: SESSION_TTL_SECONDS.default }),
    /** Runs one session may start (each check of an applicant is one); past it 429 `run_limit_reached`. */
    maxRunsPerSession: z.number().int().min(1).max(RUNS_PER_SESSION.max).default(RUNS_PER_SESSION.default),
    rateLimits: z
      .object({
        /** Sessions this tenant may create per minute, all IPs together. */
        sessionsPerMinute: z.number().int().min(1).default(120),
        /** Requests per minute made with this tenant's party keys. */
        partyRequestsPerMinute: z.number().int().min(1).default(600),
      })
      .strict()
      .default({ sessionsPerMinute: 120, partyRequestsPerMinute: 600 }),
    /**
     * Sessions that may hold a server key at the same time (from its upload until the session is
     * deleted, expires or its run ends): each costs the evaluator memory, which a script with the
     * public publishable key could otherwise fill. Past either cap: 429 `too_many_active_sessions`.
     */
    /** The tenant's brand for the widget (`GET /v1/appearance`): a partner's page gets it with no code. */
    appearance: Appearance.optional(),
    activeSessions: z
      .object({
        /** All IPs together. */
        perTenant: z.number().int().min(1).default(ACTIVE_SESSIONS_DEFAULT.perTenant),
        /** Per client IP (`cf-connecting-ip`). */
        perIp: z.number().int().min(1).default(ACTIVE_SESSIONS_DEFAULT.perIp),
      })
      .strict()
      .default(ACTIVE_SESSIONS_DEFAULT),
  })
  .strict();
export type Tenant = z.infer<typeof TenantConfig>;

export const TenantsConfig = z
  .array(TenantConfig)
  .min(1)
  .superRefine((tenants, ctx) => {
    const seen = new Set<string>();
    for (const t of tenants) {
      for (const value of [`id:${t.id}`, ...t.publishableKeys, ...t.partyKeyHashes.bank, ...t.partyKeyHashes.bureau]) {
        if (seen.has(value)) ctx.addIssue({ code: 'custom', message: `duplicate tenant id or key: ${value.slice(0, 12)}…` });
        seen.add(value);
      }
    }
  });
