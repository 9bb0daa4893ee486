/** Gateway-wide settings other than tenants, from `[vars]`. */
import { z } from 'zod';
import { parseBinding } from './parse.ts';

/** Per-IP limits (`IP_RATE_LIMITS`), across every tenant. */
export const IpRateLimits = z
  .object({
    /** Any `/v1` request. */
    requestsPerMinute: z.number().int().min(1).default(600),
    /** `POST /v1/sessions`. */
    sessionsPerMinute: z.number().int().min(1).default(30),
  })
  .strict();
export type IpRateLimits = z.infer<typeof IpRateLimits>;

export function ipRateLimits(source: unknown): IpRateLimits {
  return parseBinding('IP_RATE_LIMITS', IpRateLimits, source ?? {});
}
