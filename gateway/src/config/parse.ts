/**
 * Parses a configuration binding (a JSON string from a secret, or an object from `[vars]`) with
 * its zod schema, once per isolate and value. Invalid configuration is a deployment error: it is
 * logged by field (never by value) and answered 500 `internal`.
 */
import type { z } from 'zod';
import { PublicApiError } from '../../../protocol/public-api.ts';

const parsed = new Map<string, { source: unknown; value: unknown }>();

export function parseBinding<S extends z.ZodType>(name: string, schema: S, source: unknown): z.infer<S> {
  const hit = parsed.get(name);
  if (hit && hit.source === source) return hit.value as z.infer<S>;
  let raw: unknown = source;
  if (typeof source === 'string') {
    try {
      raw = JSON.parse(source);
    } catch {
      raw = undefined;
    }
  }
  const result = schema.safeParse(raw);
  if (!result.success) {
    console.error(`${name} is missing or invalid:`, result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    throw new PublicApiError(500, 'internal', 'The gateway is misconfigured.');
  }
  parsed.set(name, { source, value: result.data });
  return result.data;
}
